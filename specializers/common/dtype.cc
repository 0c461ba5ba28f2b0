#include "specializers/common/dtype.h"

#include <limits>

namespace sejits::specializers {

bool is_supported_dtype(int32_t code) { return sejits_dtype_itemsize(code) != 0; }

std::string dtype_name(DType dtype) {
  if (dtype == DType::kFloat16) return "float16";
  const char *name = sejits_dtype_name(static_cast<int32_t>(dtype));
  return name ? name : "unknown";
}

std::string type_name(ScalarType type) {
  if (!type.weak) return dtype_name(type.dtype);
  switch (kind_of(type.dtype)) {
    case Kind::kBool: return "python bool";
    case Kind::kFloat: return "python float";
    default: return "python int";
  }
}

int itemsize(DType dtype) {
  if (dtype == DType::kFloat16) return 2;
  return static_cast<int>(sejits_dtype_itemsize(static_cast<int32_t>(dtype)));
}

Kind kind_of(DType dtype) {
  if (dtype == DType::kFloat16) return Kind::kFloat;
  switch (sejits_dtype_kind(static_cast<int32_t>(dtype))) {
    case 'b': return Kind::kBool;
    case 'u': return Kind::kUnsigned;
    case 'f': return Kind::kFloat;
    default: return Kind::kSigned;
  }
}

bool is_integer(DType d) { return kind_of(d) == Kind::kSigned || kind_of(d) == Kind::kUnsigned; }
bool is_signed_integer(DType d) { return kind_of(d) == Kind::kSigned; }
bool is_float(DType d) { return kind_of(d) == Kind::kFloat; }

namespace {

DType signed_of_size(int bytes) {
  switch (bytes) {
    case 1: return DType::kInt8;
    case 2: return DType::kInt16;
    case 4: return DType::kInt32;
    default: return DType::kInt64;
  }
}

DType float_of_size(int bytes) {
  switch (bytes) {
    case 2: return DType::kFloat16;
    case 4: return DType::kFloat32;
    default: return DType::kFloat64;
  }
}

// The smallest float that holds every value of an integer of `bytes` bytes.
int float_bytes_for_integer(int bytes) { return bytes == 1 ? 2 : bytes == 2 ? 4 : 8; }

}  // namespace

DType promote_types(DType a, DType b) {
  if (a == b) return a;
  Kind ka = kind_of(a), kb = kind_of(b);
  if (ka == Kind::kBool) return b;
  if (kb == Kind::kBool) return a;
  int sa = itemsize(a), sb = itemsize(b);
  if (ka == Kind::kFloat || kb == Kind::kFloat) {
    int bytes = 0;
    for (auto [kind, size] : {std::pair{ka, sa}, std::pair{kb, sb}}) {
      int needed = kind == Kind::kFloat ? size : float_bytes_for_integer(size);
      bytes = std::max(bytes, needed);
    }
    return float_of_size(bytes);
  }
  if (ka == kb) return sa >= sb ? a : b;
  // One signed, one unsigned.
  int signed_size = ka == Kind::kSigned ? sa : sb;
  int unsigned_size = ka == Kind::kUnsigned ? sa : sb;
  if (signed_size > unsigned_size) return signed_of_size(signed_size);
  if (unsigned_size == 8) return DType::kFloat64;
  return signed_of_size(unsigned_size * 2);
}

bool is_python_scalar_dtype(DType dtype) {
  return dtype == DType::kBool || dtype == DType::kInt64 || dtype == DType::kUInt64 || dtype == DType::kFloat64;
}

ScalarType strengthen(ScalarType type) { return ScalarType{type.dtype, false}; }

ScalarType result_type(ScalarType a, ScalarType b) {
  if (a.weak && b.weak) {
    ScalarType wider = kind_of(a.dtype) >= kind_of(b.dtype) ? a : b;
    // Arithmetic between Python ints is Python's: in int64, where a value
    // beyond it (a uint64-described int) asks for the Python code to run.
    if (wider.dtype == DType::kUInt64) wider.dtype = DType::kInt64;
    return wider;
  }
  if (!a.weak && !b.weak) return ScalarType{promote_types(a.dtype, b.dtype), false};
  ScalarType strong = a.weak ? b : a;
  ScalarType weak = a.weak ? a : b;
  Kind strong_kind = kind_of(strong.dtype);
  Kind weak_kind = kind_of(weak.dtype);
  // Python int and NumPy integers are one kind for NEP 50: an int scalar
  // takes an unsigned array's dtype.
  auto rank = [](Kind k) { return k == Kind::kUnsigned ? static_cast<int>(Kind::kSigned) : static_cast<int>(k); };
  if (rank(strong_kind) >= rank(weak_kind)) return strong;
  // A Python int meeting a bool array takes the default int, int64, even
  // when it is described as uint64 (NumPy then raises out of bounds).
  return ScalarType{weak.dtype == DType::kUInt64 ? DType::kInt64 : weak.dtype, false};
}

bool can_cast_safely(DType from, DType to) { return promote_types(from, to) == to; }

bool int_fits(DType dtype, int64_t value) {
  switch (dtype) {
    case DType::kBool: return value == 0 || value == 1;
    case DType::kInt8: return value >= -128 && value <= 127;
    case DType::kInt16: return value >= -32768 && value <= 32767;
    case DType::kInt32: return value >= std::numeric_limits<int32_t>::min() && value <= std::numeric_limits<int32_t>::max();
    case DType::kInt64: return true;
    case DType::kUInt8: return value >= 0 && value <= 255;
    case DType::kUInt16: return value >= 0 && value <= 65535;
    case DType::kUInt32: return value >= 0 && value <= 4294967295LL;
    case DType::kUInt64: return value >= 0;
    default: return true;  // floats hold every int (rounded)
  }
}

bool uint_fits(DType dtype, uint64_t value) {
  if (value <= static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) return int_fits(dtype, static_cast<int64_t>(value));
  return dtype == DType::kUInt64 || is_float(dtype);
}

}  // namespace sejits::specializers
