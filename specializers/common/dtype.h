// NumPy dtypes and NumPy 2's promotion rules (NEP 50: Python scalars are
// "weak" and take the dtype of the arrays they meet).
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "codegen/include/sejits/kernel_abi.h"

namespace sejits::specializers {

// The kernel dtypes, numbered as the kernel ABI's table (SEJITS_DTYPES in
// kernel_abi.h, which sejits.v1.DType agrees with), and float16: NumPy's
// promotion rules produce it and the front ends refuse it (sejits.v1.DType.FLOAT16).
enum class DType : int32_t {
  kBool = SEJITS_BOOL, kInt8 = SEJITS_INT8, kInt16 = SEJITS_INT16, kInt32 = SEJITS_INT32, kInt64 = SEJITS_INT64,
  kUInt8 = SEJITS_UINT8, kUInt16 = SEJITS_UINT16, kUInt32 = SEJITS_UINT32, kUInt64 = SEJITS_UINT64,
  kFloat32 = SEJITS_FLOAT32, kFloat64 = SEJITS_FLOAT64, kFloat16 = 12,
};

enum class Kind { kBool = 0, kUnsigned = 1, kSigned = 2, kFloat = 3 };

// The type of a value in a kernel. A weak type is a Python scalar's: its
// dtype is the default of its kind (bool, int64, float64) until it meets a
// strong operand.
struct ScalarType {
  DType dtype = DType::kFloat64;
  bool weak = false;
  friend bool operator==(const ScalarType &, const ScalarType &) = default;
};

bool is_supported_dtype(int32_t code);  // a kernel dtype: a row of SEJITS_DTYPES
std::string dtype_name(DType dtype);
std::string type_name(ScalarType type);  // "float64", "python float", ...
int itemsize(DType dtype);
Kind kind_of(DType dtype);
bool is_integer(DType dtype);
bool is_signed_integer(DType dtype);
bool is_float(DType dtype);

// np.promote_types for two (strong) dtypes.
DType promote_types(DType a, DType b);
// np.result_type for two operands, weak ones following NEP 50.
ScalarType result_type(ScalarType a, ScalarType b);
// np.can_cast(from, to, casting="safe").
bool can_cast_safely(DType from, DType to);
// The dtypes a Python scalar is described with: bool, int64, float64, and
// uint64 for an int in [2**63, 2**64), which NumPy accepts with uint64 arrays.
bool is_python_scalar_dtype(DType dtype);
inline constexpr char kPythonScalarDtypes[] = "bool, int64, uint64 (an int in [2**63, 2**64)) or float64";
// A weak type made strong: what a Python scalar becomes on its own.
ScalarType strengthen(ScalarType type);

// Whether `value` (a Python int) fits `dtype`.
bool int_fits(DType dtype, int64_t value);
bool uint_fits(DType dtype, uint64_t value);

}  // namespace sejits::specializers
