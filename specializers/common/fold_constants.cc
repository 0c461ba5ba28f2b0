#include "specializers/common/fold_constants.h"

#include <cmath>
#include <limits>
#include <optional>
#include <unordered_map>

namespace sejits::specializers {
namespace {

template <typename T>
T value_as(const ConstantValue &value) {
  return std::visit([](auto v) { return static_cast<T>(v); }, value);
}

template <typename T>
ConstantValue store(T value) {
  if constexpr (std::is_same_v<T, bool>) return value;
  else if constexpr (std::is_floating_point_v<T>) return static_cast<double>(value);
  else if constexpr (std::is_signed_v<T>) return static_cast<int64_t>(value);
  else return static_cast<uint64_t>(value);
}

// The constant converted to `dtype` as C would (the generated code's cast).
ConstantValue convert(const ConstantValue &value, DType dtype) {
  switch (dtype) {
    case DType::kBool: return std::visit([](auto v) { return static_cast<bool>(v != 0); }, value);
    case DType::kInt8: return store(value_as<int8_t>(value));
    case DType::kInt16: return store(value_as<int16_t>(value));
    case DType::kInt32: return store(value_as<int32_t>(value));
    case DType::kInt64: return store(value_as<int64_t>(value));
    case DType::kUInt8: return store(value_as<uint8_t>(value));
    case DType::kUInt16: return store(value_as<uint16_t>(value));
    case DType::kUInt32: return store(value_as<uint32_t>(value));
    case DType::kUInt64: return store(value_as<uint64_t>(value));
    case DType::kFloat32: return store(value_as<float>(value));
    default: return store(value_as<double>(value));
  }
}

// A float converted to an integer dtype as the kernels' helper does it
// (sejits_double_to_int in kernel_runtime.h: x86-64's NumPy casts).
int32_t truncate_int32(double x) {
  return (x >= -2147483648.0 && x < 2147483648.0) ? static_cast<int32_t>(x) : std::numeric_limits<int32_t>::min();
}
int64_t truncate_int64(double x) {
  return (x >= -9223372036854775808.0 && x < 9223372036854775808.0) ? static_cast<int64_t>(x)
                                                                      : std::numeric_limits<int64_t>::min();
}
ConstantValue float_to_int(double x, DType dtype) {
  switch (dtype) {
    case DType::kInt8: return store(static_cast<int8_t>(truncate_int32(x)));
    case DType::kInt16: return store(static_cast<int16_t>(truncate_int32(x)));
    case DType::kInt32: return store(truncate_int32(x));
    case DType::kUInt8: return store(static_cast<uint8_t>(truncate_int32(x)));
    case DType::kUInt16: return store(static_cast<uint16_t>(truncate_int32(x)));
    case DType::kUInt32:
      return store(x >= 2147483648.0 ? static_cast<uint32_t>(truncate_int32(x - 2147483648.0)) ^ 0x80000000u
                                     : static_cast<uint32_t>(truncate_int32(x)));
    case DType::kUInt64:
      return store(x >= 9223372036854775808.0 ? static_cast<uint64_t>(truncate_int64(x - 9223372036854775808.0)) ^ (uint64_t{1} << 63)
                                              : static_cast<uint64_t>(truncate_int64(x)));
    default: return store(truncate_int64(x));
  }
}

// Integer arithmetic wraps as in the generated code (compiled -fwrapv): done
// in the unsigned type, where wrapping is defined, and converted back.
template <typename T>
T wrapping(auto op, T a, T b) {
  if constexpr (std::is_integral_v<T> && !std::is_same_v<T, bool>) {
    using U = std::make_unsigned_t<T>;
    return static_cast<T>(static_cast<U>(op(static_cast<uint64_t>(static_cast<U>(a)), static_cast<uint64_t>(static_cast<U>(b)))));
  } else {
    return static_cast<T>(op(a, b));
  }
}

// As kernel_runtime.h's helpers compute them (NumPy's shifts).
template <typename T>
std::optional<ConstantValue> fold_bitwise(ScalarOp op, T a, T b) {
  if constexpr (std::is_same_v<T, bool>) {
    if (op == ScalarOp::kBitAnd) return store(static_cast<bool>(a && b));
    if (op == ScalarOp::kBitOr) return store(static_cast<bool>(a || b));
    if (op == ScalarOp::kBitXor) return store(static_cast<bool>(a != b));
    return std::nullopt;
  } else {
    const bool in_range = static_cast<uint64_t>(b) < sizeof(T) * 8;
    switch (op) {
      case ScalarOp::kBitAnd: return store(static_cast<T>(a & b));
      case ScalarOp::kBitOr: return store(static_cast<T>(a | b));
      case ScalarOp::kBitXor: return store(static_cast<T>(a ^ b));
      case ScalarOp::kInvert: return store(static_cast<T>(~a));
      case ScalarOp::kLeftShift: return store(in_range ? static_cast<T>(static_cast<uint64_t>(a) << b) : T{0});
      case ScalarOp::kRightShift: return store(in_range ? static_cast<T>(a >> b) : a < T{0} ? static_cast<T>(-1) : T{0});
      default: return std::nullopt;
    }
  }
}

template <typename T>
std::optional<ConstantValue> fold_typed(const ScalarNode &node, const std::vector<ConstantValue> &in) {
  auto a = [&] { return value_as<T>(in[0]); };
  auto b = [&] { return value_as<T>(in[1]); };
  auto minus = [](auto x, auto y) { return x - y; };
  switch (node.op) {
    case ScalarOp::kNeg:
      if constexpr (std::is_same_v<T, bool>) return std::nullopt;
      else return store(wrapping<T>(minus, T{0}, a()));
    case ScalarOp::kAbs:
      if constexpr (std::is_floating_point_v<T>) return store(static_cast<T>(std::fabs(a())));
      else if constexpr (std::is_same_v<T, bool>) return store(a());
      else return store(a() < 0 ? wrapping<T>(minus, T{0}, a()) : a());
    case ScalarOp::kAdd: return store(wrapping<T>([](auto x, auto y) { return x + y; }, a(), b()));
    case ScalarOp::kSub: return store(wrapping<T>(minus, a(), b()));
    case ScalarOp::kMul: return store(wrapping<T>([](auto x, auto y) { return x * y; }, a(), b()));
    case ScalarOp::kTrueDiv:
      if constexpr (std::is_floating_point_v<T>) return store(static_cast<T>(a() / b()));
      else return std::nullopt;
    case ScalarOp::kFloorDiv:
    case ScalarOp::kMod:
    case ScalarOp::kPow:
      return std::nullopt;  // left to the runtime helpers, which define NumPy's edge cases once
    case ScalarOp::kBitAnd:
    case ScalarOp::kBitOr:
    case ScalarOp::kBitXor:
    case ScalarOp::kInvert:
    case ScalarOp::kLeftShift:
    case ScalarOp::kRightShift:
      if constexpr (std::is_floating_point_v<T>) {
        return std::nullopt;
      } else {
        return fold_bitwise<T>(node.op, a(), node.operands.size() > 1 ? b() : T{});
      }
    case ScalarOp::kEq: return store(a() == b());
    case ScalarOp::kNe: return store(a() != b());
    case ScalarOp::kLt: return store(a() < b());
    case ScalarOp::kLe: return store(a() <= b());
    case ScalarOp::kGt: return store(a() > b());
    case ScalarOp::kGe: return store(a() >= b());
    default: return std::nullopt;
  }
}

std::optional<ConstantValue> fold(const ScalarNode &node, const std::vector<ConstantValue> &in) {
  switch (node.op) {
    case ScalarOp::kCast:
      if (std::holds_alternative<double>(in[0]) && is_integer(node.type.dtype)) return float_to_int(std::get<double>(in[0]), node.type.dtype);
      return convert(in[0], node.type.dtype);
    case ScalarOp::kTruth: return std::visit([](auto v) { return ConstantValue(v != 0); }, in[0]);
    case ScalarOp::kNot: return ConstantValue(!value_as<bool>(in[0]));
    case ScalarOp::kLogicalAnd: return ConstantValue(value_as<bool>(in[0]) && value_as<bool>(in[1]));
    case ScalarOp::kLogicalOr: return ConstantValue(value_as<bool>(in[0]) || value_as<bool>(in[1]));
    case ScalarOp::kSelect: return value_as<bool>(in[0]) ? in[1] : in[2];
    case ScalarOp::kMath:
    case ScalarOp::kMaximum:
    case ScalarOp::kMinimum:
      return std::nullopt;  // kept for the runtime, whose libm may round differently
    default: break;
  }
  DType operand_dtype = node.operands[0]->type.dtype;
  switch (operand_dtype) {
    case DType::kBool: return fold_typed<bool>(node, in);
    case DType::kInt8: return fold_typed<int8_t>(node, in);
    case DType::kInt16: return fold_typed<int16_t>(node, in);
    case DType::kInt32: return fold_typed<int32_t>(node, in);
    case DType::kInt64: return fold_typed<int64_t>(node, in);
    case DType::kUInt8: return fold_typed<uint8_t>(node, in);
    case DType::kUInt16: return fold_typed<uint16_t>(node, in);
    case DType::kUInt32: return fold_typed<uint32_t>(node, in);
    case DType::kUInt64: return fold_typed<uint64_t>(node, in);
    case DType::kFloat32: return fold_typed<float>(node, in);
    case DType::kFloat64: return fold_typed<double>(node, in);
    default: return std::nullopt;
  }
}

bool is_bool_constant(const NodeRef &node, bool value) {
  return node->op == ScalarOp::kConstant && node->type.dtype == DType::kBool && std::get<bool>(convert(node->value, DType::kBool)) == value;
}

}  // namespace

NodeRef fold_constants(const NodeRef &root) {
  std::unordered_map<const ScalarNode *, NodeRef> rewritten;
  for (const NodeRef &node : topological_order(root)) {
    std::vector<NodeRef> operands;
    bool all_constant = !node->operands.empty();
    for (const auto &operand : node->operands) {
      operands.push_back(rewritten.at(operand.get()));
      all_constant = all_constant && operands.back()->op == ScalarOp::kConstant;
    }
    NodeRef result = with_operands(node, operands);
    if (all_constant) {
      std::vector<ConstantValue> values;
      for (const auto &operand : operands) values.push_back(operand->value);
      if (auto folded = fold(*result, values)) result = make_constant(*folded, result->type, result->line);
    } else if (result->op == ScalarOp::kSelect && result->operands[0]->op == ScalarOp::kConstant) {
      result = std::get<bool>(convert(result->operands[0]->value, DType::kBool)) ? result->operands[1]
                                                                                : result->operands[2];
    } else if (result->op == ScalarOp::kSelect && result->type.dtype == DType::kBool && is_bool_constant(result->operands[1], true) &&
               is_bool_constant(result->operands[2], false)) {
      result = cast_to(result->operands[0], result->type);  // c ? true : false, as a loop's jump flags merge
    }
    rewritten[node.get()] = result;
  }
  return rewritten.at(root.get());
}

}  // namespace sejits::specializers
