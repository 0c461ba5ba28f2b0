// Pieces every specializer's OpenCL lowering shares. An OpenCL artifact has
// two halves printed from one target AST: device kernels (OpenCL C) and a
// host entry point of the usual ABI that checks the arguments, then sets
// each kernel argument and enqueues (sejits/opencl_runtime.h).
//
// Kernel parameter conventions: a device array `name` is passed as
// `name_base` (__global T *) and `name_off` (elements); the kernel body
// starts with `name = name_base + name_off`. A scalar of dtype bool travels
// as uchar (OpenCL kernels take no bool arguments).
#pragma once

#include <map>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "codegen/target_ast.h"
#include "specializers/common/scalar_ir.h"
#include "specializers/platforms.h"

namespace sejits::specializers {

// The work-group shape and work per item of an OpenCL variant
// ("variant.wg_x", "variant.wg_y", "variant.items", "variant.march").
struct OpenClPlan {
  int64_t wg_x = 256;  // work items along the fastest axis
  int64_t wg_y = 1;    // along the next axis (multi-dimensional ranges)
  int64_t items = 0;   // elements per work item (flat ranges); 0: default_items()
  int64_t march = 0;   // stencils of rank 2 and 3: each work item walks this many points along axis 0 (0: one point)
};
// Elements per work item when the variant does not say: on an H100, 4 made a
// kernel of 3 streams (E1) 17% faster than 1, but one of 7 streams (E2) 5%
// slower than 2.
int64_t default_items(int streams);
absl::StatusOr<OpenClPlan> parse_opencl_plan(const std::string &specializer, const std::map<std::string, std::string> &params,
                                             OpenClPlan defaults);
std::string describe_opencl_plan(const OpenClPlan &plan, bool two_dimensional);

// Python scalars (weak) that every one of `values` only ever casts to one
// dtype: they are passed to the device already converted (param index -> that
// dtype), so that a Python float does not make a float32 kernel need float64.
std::map<int, DType> narrowed_scalar_params(const std::vector<NodeRef> &values);
// True when any value the kernel computes, reads or writes is float64
// (parameters in `narrowed` count with their narrowed dtype).
bool needs_fp64(const NodeRef &value, const std::vector<DType> &operand_dtypes, const std::map<int, DType> &narrowed);

// `value` as a device kernel computes it:
// - a parameter in `narrowed` is read in its narrowed dtype (the cast is done
//   on the host, before the value becomes a kernel argument);
// - integer negation, +, - and * of the signed types and of 8 and 16 bits run
//   in uint or ulong and are cast back. OpenCL C, like C, leaves signed
//   overflow undefined and device compilers use that (PoCL widened an int32
//   product to int64 unwrapped); NumPy wraps, and so does unsigned arithmetic.
NodeRef device_scalar_ir(const NodeRef &value, const std::map<int, DType> &narrowed);

// Adds `name_base`, `name_off` to `kernel` and `name = name_base + name_off`
// to `prologue`.
void add_buffer_param(codegen::Function &kernel, std::vector<codegen::StmtPtr> &prologue, const std::string &name,
                      DType dtype, bool input);
void add_scalar_param(codegen::Function &kernel, const std::string &name, DType dtype);
// An index or extent: long, or int in the kernels for arrays under 2^31
// elements (32-bit index arithmetic is about half the instructions).
void add_index_param(codegen::Function &kernel, const std::string &name, codegen::CType type = codegen::CType::kInt64);
inline constexpr int64_t kNarrowIndexLimit = int64_t{1} << 31;
// `__global int *error_out`, and the statement that reports `error_flag`.
void add_error_flag_param(codegen::Function &kernel);
codegen::StmtPtr report_error_flag();
codegen::Function device_kernel(const std::string &name);

// ---- host side (the entry point) ------------------------------------------

// Fails unless args[arg] is a device array of `dtype` (of `rank`, if >= 0).
codegen::StmtPtr check_device_array(int arg, DType dtype, int rank);
codegen::StmtPtr check_scalar(int arg, DType dtype);
codegen::StmtPtr check_device_arg(int arg);
// `sejits_cl_launch launch;`
codegen::StmtPtr declare_launch();
// Takes the program's kernel `kernel_name` for the device in args[device_arg].
codegen::StmtPtr begin_launch(const std::string &kernel_name, int device_arg, bool fp64);
codegen::StmtPtr pass_buffer(int arg);
codegen::StmtPtr pass_value(codegen::CType type, codegen::ExprPtr value);
codegen::StmtPtr pass_error_flag();
// Enqueues over `global` (1 to 3 axes, fastest first) in groups of `local`.
codegen::StmtPtr run_launch(const std::vector<codegen::ExprPtr> &global, const std::vector<int64_t> &local);
// `const int error_flag = <flag the kernels set>;` (waits for them).
codegen::StmtPtr read_error_flag();

}  // namespace sejits::specializers
