// What an artifact offers its callers: entry points by role ("call",
// "iterate", ...), each with its parameters in order, their roles and dtypes,
// and every output's shape as a rule over the other parameters' shapes and
// the request's params. The daemon stores it with the artifact and sends it
// in every answer; clients allocate outputs and call entries from it alone,
// never naming a symbol.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "specializers/request.h"

namespace sejits::specializers {

enum class ParamRole {
  kInput,      // an array the entry reads
  kOutput,     // an array the entry writes: the caller allocates it from its shape rule
  kInOut,      // an array read and written in place
  kScalar,     // a number passed by value
  kWorkspace,  // scratch the caller allocates from its shape rule; its contents are not a result
};

// The size of one dimension.
struct Dimension {
  enum class Kind { kConstant, kAxisOf, kParam };
  Kind kind = Kind::kConstant;
  int64_t constant = 0;   // kConstant
  int parameter = 0;      // kAxisOf: the size of axis `axis` of parameter `parameter`
  int axis = 0;           //   (negative: from the end)
  std::string param;      // kParam: an integer request param, e.g. "k"

  static Dimension of_constant(int64_t value) { return {Kind::kConstant, value, 0, 0, {}}; }
  static Dimension of_axis(int parameter, int axis) { return {Kind::kAxisOf, 0, parameter, axis, {}}; }
  static Dimension of_param(std::string name) { return {Kind::kParam, 0, 0, 0, std::move(name)}; }
  bool operator==(const Dimension &) const = default;
};

// An output's (or workspace's) shape. Exactly one way applies, in this order:
// the broadcast of the listed parameters' shapes (an element-wise result;
// one parameter: "shaped like it"); else the listed dimensions (none: a
// 0-d result); else `shape_entry`, an entry of the artifact that computes it.
struct ShapeRule {
  std::vector<int> broadcast;
  std::vector<Dimension> dims;
  std::string shape_entry;
  bool operator==(const ShapeRule &) const = default;
};

struct EntryParam {
  std::string name;
  ParamRole role = ParamRole::kInput;
  DType dtype = DType::kFloat64;
  ShapeRule shape;  // outputs and workspaces
  bool operator==(const EntryParam &) const = default;
};

struct EntryPoint {
  std::string role;    // what callers ask for: "call", "iterate", "e_step", ...
  std::string symbol;  // the artifact's exported function
  std::vector<EntryParam> params;
  bool operator==(const EntryPoint &) const = default;
};

// What a call of the kernel returns, for a kernel that stands for a whole
// Python function (sejits.fuse): each value an output of "call", one of the
// arguments as passed, or an output returned as a Python number.
struct ReturnedValue {
  enum class Kind { kOutput, kArgument, kPythonScalar };
  Kind kind = Kind::kOutput;
  int index = 0;  // the output (among "call"'s outputs, in order) or the argument
  bool operator==(const ReturnedValue &) const = default;
};
struct Returns {
  bool tuple = false;  // `return a, b` (else one value, or None when there are none)
  std::vector<ReturnedValue> values;
  bool operator==(const Returns &) const = default;
};

struct KernelInterface {
  std::vector<EntryPoint> entries;
  std::optional<Returns> returns;  // absent: callers get the outputs as the entry's role says

  // The entry playing `role`; NOT_FOUND naming the roles there are.
  absl::StatusOr<const EntryPoint *> entry(const std::string &role) const;
  // The dtype of the first output of the first entry (what single-result
  // callers and explain() report); with no outputs, of the first in-out.
  DType result_dtype() const;
  bool operator==(const KernelInterface &) const = default;
};

const char *param_role_name(ParamRole role);

// The request's arguments as an entry's parameters, in order: arrays as
// inputs, numbers as scalars, named a0, a1, ...
std::vector<EntryParam> argument_params(const SpecializationRequest &request);
// An output (or workspace) shaped like the broadcast of `parameters`.
EntryParam shaped_like(std::string name, ParamRole role, DType dtype, std::vector<int> parameters);

// The shape of parameter `index` of `entry` (an output or workspace) given
// the shapes of the others (`shapes[k]`, empty for scalars) and the request's
// params. INVALID_ARGUMENT when the shapes do not broadcast, an axis or
// param is missing, or the rule needs an entry to be called.
absl::StatusOr<std::vector<int64_t>> output_shape(const EntryPoint &entry, int index,
                                                  const std::vector<std::vector<int64_t>> &shapes,
                                                  const std::map<std::string, std::string> &params);

// A text form for the artifact store's index (one line per entry and per
// parameter), and back: INVALID_ARGUMENT for text this code did not write.
std::string interface_to_text(const KernelInterface &interface);
absl::StatusOr<KernelInterface> interface_from_text(const std::string &text);

}  // namespace sejits::specializers
