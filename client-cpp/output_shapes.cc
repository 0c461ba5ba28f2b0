#include "client-cpp/output_shapes.h"

#include <algorithm>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"

namespace sejits::client {
namespace {

bool is_allocated(v1::ParamRole role) { return role == v1::PARAM_OUTPUT || role == v1::PARAM_WORKSPACE; }

absl::StatusOr<Shape> broadcast(const v1::ShapeRule &rule, const std::vector<Shape> &shapes) {
  size_t rank = 0;
  for (int parameter : rule.broadcast()) {
    if (parameter < 0 || static_cast<size_t>(parameter) >= shapes.size()) {
      return absl::InvalidArgumentError(absl::StrCat("shape rule names parameter ", parameter, " of ", shapes.size()));
    }
    rank = std::max(rank, shapes[parameter].size());
  }
  Shape result(rank, 1);
  for (int parameter : rule.broadcast()) {
    const Shape &shape = shapes[parameter];
    for (size_t k = 0; k < shape.size(); ++k) {
      int64_t &into = result[rank - shape.size() + k];
      if (shape[k] == into || shape[k] == 1) continue;
      if (into != 1) return absl::InvalidArgumentError("the inputs' shapes do not broadcast together");
      into = shape[k];
    }
  }
  return result;
}

absl::StatusOr<int64_t> dimension(const v1::Dimension &dim, const std::vector<Shape> &shapes,
                                  const std::map<std::string, std::string> &params) {
  switch (dim.size_case()) {
    case v1::Dimension::kConstant:
      return dim.constant();
    case v1::Dimension::kAxisOf: {
      const int parameter = dim.axis_of().parameter();
      if (parameter < 0 || static_cast<size_t>(parameter) >= shapes.size()) {
        return absl::InvalidArgumentError(absl::StrCat("shape rule names parameter ", parameter, " of ", shapes.size()));
      }
      const int rank = static_cast<int>(shapes[parameter].size());
      const int axis = dim.axis_of().axis() < 0 ? dim.axis_of().axis() + rank : dim.axis_of().axis();
      if (axis < 0 || axis >= rank) {
        return absl::InvalidArgumentError(absl::StrCat("shape rule names axis ", dim.axis_of().axis(), " of parameter ",
                                                       parameter, ", of rank ", rank));
      }
      return shapes[parameter][axis];
    }
    case v1::Dimension::kParam: {
      auto found = params.find(dim.param());
      int64_t value = 0;
      if (found == params.end() || !absl::SimpleAtoi(found->second, &value) || value < 0) {
        return absl::InvalidArgumentError(absl::StrCat("shape rule needs the integer param '", dim.param(), "'"));
      }
      return value;
    }
    case v1::Dimension::SIZE_NOT_SET:
      break;
  }
  return absl::InvalidArgumentError("a dimension without a size");
}

}  // namespace

absl::StatusOr<Shape> output_shape(const v1::EntryPoint &entry, int index, const std::vector<Shape> &shapes,
                                   const std::map<std::string, std::string> &params) {
  if (index < 0 || index >= entry.params_size()) {
    return absl::InvalidArgumentError(absl::StrCat("entry '", entry.role(), "' has no parameter ", index));
  }
  const v1::ShapeRule &rule = entry.params(index).shape();
  if (rule.broadcast_size() > 0) return broadcast(rule, shapes);
  if (!rule.shape_entry().empty()) {
    return absl::InvalidArgumentError(absl::StrCat("the shape of '", entry.params(index).name(), "' is computed by the entry '",
                                                   rule.shape_entry(), "': call it first"));
  }
  Shape shape;
  for (const v1::Dimension &dim : rule.dims()) {
    absl::StatusOr<int64_t> size = dimension(dim, shapes, params);
    if (!size.ok()) return size.status();
    shape.push_back(*size);
  }
  return shape;
}

absl::StatusOr<std::vector<Shape>> call_shapes(const v1::EntryPoint &entry, const std::vector<Shape> &input_shapes,
                                               const std::map<std::string, std::string> &params) {
  std::vector<Shape> shapes(entry.params_size());
  size_t next_input = 0;
  for (int k = 0; k < entry.params_size(); ++k) {
    if (is_allocated(entry.params(k).role())) continue;
    if (next_input == input_shapes.size()) {
      return absl::InvalidArgumentError(absl::StrCat("entry '", entry.role(), "' takes more than ", input_shapes.size(), " inputs"));
    }
    shapes[k] = input_shapes[next_input++];
  }
  if (next_input != input_shapes.size()) {
    return absl::InvalidArgumentError(absl::StrCat("entry '", entry.role(), "' takes ", next_input, " inputs, not ", input_shapes.size()));
  }
  for (int k = 0; k < entry.params_size(); ++k) {
    if (!is_allocated(entry.params(k).role())) continue;
    absl::StatusOr<Shape> shape = output_shape(entry, k, shapes, params);
    if (!shape.ok()) return shape.status();
    shapes[k] = std::move(*shape);
  }
  return shapes;
}

}  // namespace sejits::client
