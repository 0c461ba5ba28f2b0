#include "specializers/common/eliminate_common_subexpressions.h"

#include <bit>
#include <map>
#include <tuple>
#include <unordered_map>

namespace sejits::specializers {
namespace {

// Everything that makes two nodes compute the same value.
// Constants compare by bit pattern (NaN equals itself, -0.0 differs from 0.0).
// Loop variables of different loops differ by loop_id.
// Weakness is left out: a Python scalar and its NumPy-typed copy of the same
// dtype are the same value in the generated code. Except for a Python int
// argument's own node: its range checks (lower_entry.cc) find it by its
// weakness, which a strong copy taking its place would hide.
using NodeKey =
    std::tuple<int, int32_t, std::vector<const ScalarNode *>, int, std::vector<int64_t>, int, size_t, uint64_t, int>;

uint64_t constant_bits(const ConstantValue &value) {
  return std::visit(
      [](auto v) -> uint64_t {
        if constexpr (std::is_same_v<decltype(v), double>) return std::bit_cast<uint64_t>(v);
        else return static_cast<uint64_t>(v);
      },
      value);
}

NodeKey key_of(const ScalarNode &node, const std::vector<NodeRef> &operands) {
  std::vector<const ScalarNode *> operand_ids;
  for (const auto &operand : operands) operand_ids.push_back(operand.get());
  bool constant = node.op == ScalarOp::kConstant;
  const bool weak_argument = node.op == ScalarOp::kParam && node.type.weak && is_integer(node.type.dtype);
  return {static_cast<int>(node.op), static_cast<int32_t>(node.type.dtype) | (weak_argument ? 1 << 16 : 0), operand_ids,
          node.param_index, node.offsets, static_cast<int>(node.math_fn), constant ? node.value.index() : 0,
          constant ? constant_bits(node.value) : 0, node.loop_id};
}

}  // namespace

NodeRef eliminate_common_subexpressions(const NodeRef &root) { return eliminate_common_subexpressions(std::vector<NodeRef>{root}).front(); }

std::vector<NodeRef> eliminate_common_subexpressions(const std::vector<NodeRef> &roots) {
  std::map<NodeKey, NodeRef> canonical;
  std::unordered_map<const ScalarNode *, NodeRef> rewritten;
  std::vector<NodeRef> order;
  for (const NodeRef &root : roots) {
    for (const NodeRef &node : topological_order(root)) order.push_back(node);
  }
  for (const NodeRef &node : order) {
    if (rewritten.count(node.get())) continue;
    std::vector<NodeRef> operands;
    for (const auto &operand : node->operands) operands.push_back(rewritten.at(operand.get()));
    NodeKey key = key_of(*node, operands);
    auto it = canonical.find(key);
    if (it == canonical.end()) {
      NodeRef result = with_operands(node, operands);
      canonical.emplace(std::move(key), result);
      rewritten[node.get()] = result;
    } else {
      rewritten[node.get()] = it->second;
    }
  }
  std::vector<NodeRef> merged;
  for (const NodeRef &root : roots) merged.push_back(rewritten.at(root.get()));
  return merged;
}

}  // namespace sejits::specializers
