// The OpenCL C runtime of sejits kernels: NumPy's arithmetic semantics, the
// same as kernel_runtime.h gives the C++ kernels. Prepended to every OpenCL
// program sejits generates (the device compiler has no include path). Helpers
// are named per type (OpenCL C has no templates): sejits_mod_int_long, ...

#ifdef cl_khr_fp64
#pragma OPENCL EXTENSION cl_khr_fp64 : enable
#endif

// NumPy does not fuse a*b+c into one rounding.
#pragma OPENCL FP_CONTRACT OFF

#define SEJITS_NEGATIVE_INTEGER_POWER 1
#define SEJITS_PYTHON_INT_OVERFLOW 2

// abs: -0.0 becomes +0.0 (x + 0), integers wrap at their minimum as in NumPy.
#define sejits_abs(x) (((x) < 0) ? (0 - (x)) : ((x) + 0))

#define SEJITS_INT_HELPERS(T, U, SIGNED)                                                   \
  inline T sejits_floor_div_int_##T(T a, T b) {                                           \
    if (b == 0) return 0;                                                                  \
    if (SIGNED && b == (T)-1) return (T)(0 - (U)a);                                        \
    T q = a / b;                                                                           \
    if ((a % b != 0) && ((a < 0) != (b < 0))) --q;                                        \
    return q;                                                                              \
  }                                                                                        \
  inline T sejits_mod_int_##T(T a, T b) {                                                 \
    if (b == 0) return 0;                                                                  \
    if (SIGNED && b == (T)-1) return 0;                                                    \
    T r = a % b;                                                                           \
    if (r != 0 && ((r < 0) != (b < 0))) r += b;                                            \
    return r;                                                                              \
  }                                                                                        \
  inline T sejits_pow_int_##T(T base, T exponent, int *error_flag) {                      \
    if (SIGNED && exponent < 0) {                                                          \
      *error_flag = SEJITS_NEGATIVE_INTEGER_POWER;                                         \
      return 0;                                                                            \
    }                                                                                      \
    ulong result = 1, b = (ulong)base, e = (ulong)exponent;                                \
    while (e) {                                                                            \
      if (e & 1) result *= b;                                                              \
      b *= b;                                                                              \
      e >>= 1;                                                                             \
    }                                                                                      \
    return (T)result;                                                                      \
  }                                                                                        \
  inline T sejits_left_shift_##T(T a, T b) {                                              \
    if ((ulong)b < sizeof(T) * 8) return (T)((ulong)a << b);                              \
    return 0;                                                                              \
  }                                                                                        \
  inline T sejits_right_shift_##T(T a, T b) {                                             \
    if ((ulong)b < sizeof(T) * 8) return (T)(a >> b);                                      \
    return (SIGNED && a < 0) ? (T)-1 : (T)0;                                               \
  }                                                                                        \
  inline T sejits_maximum_##T(T a, T b) { return a >= b ? a : b; }                        \
  inline T sejits_minimum_##T(T a, T b) { return a <= b ? a : b; }

SEJITS_INT_HELPERS(char, uchar, 1)
SEJITS_INT_HELPERS(short, ushort, 1)
SEJITS_INT_HELPERS(int, uint, 1)
SEJITS_INT_HELPERS(long, ulong, 1)
SEJITS_INT_HELPERS(uchar, uchar, 0)
SEJITS_INT_HELPERS(ushort, ushort, 0)
SEJITS_INT_HELPERS(uint, uint, 0)
SEJITS_INT_HELPERS(ulong, ulong, 0)
inline bool sejits_maximum_bool(bool a, bool b) { return a || b; }
inline bool sejits_minimum_bool(bool a, bool b) { return a && b; }

#define SEJITS_FLOAT_HELPERS(T)                                                            \
  inline T sejits_mod_float_##T(T a, T b) {                                               \
    if (b == 0) return fmod(a, b);                                                         \
    T mod = fmod(a, b);                                                                    \
    if (mod != 0) {                                                                        \
      if ((b < 0) != (mod < 0)) mod += b;                                                  \
    } else {                                                                               \
      mod = copysign((T)0, b);                                                             \
    }                                                                                      \
    return mod;                                                                            \
  }                                                                                        \
  inline T sejits_floor_div_float_##T(T a, T b) {                                         \
    if (b == 0) return a / b;                                                              \
    T mod = fmod(a, b);                                                                    \
    T div = (a - mod) / b;                                                                 \
    if (mod != 0 && ((b < 0) != (mod < 0))) div -= 1;                                      \
    T floordiv;                                                                            \
    if (div != 0) {                                                                        \
      floordiv = floor(div);                                                               \
      if (div - floordiv > (T)0.5) floordiv += 1;                                          \
    } else {                                                                               \
      floordiv = copysign((T)0, a / b);                                                    \
    }                                                                                      \
    return floordiv;                                                                       \
  }                                                                                        \
  inline T sejits_maximum_##T(T a, T b) {                                                 \
    if (a != a) return a;                                                                  \
    if (b != b) return b;                                                                  \
    return a >= b ? a : b;                                                                 \
  }                                                                                        \
  inline T sejits_minimum_##T(T a, T b) {                                                 \
    if (a != a) return a;                                                                  \
    if (b != b) return b;                                                                  \
    return a <= b ? a : b;                                                                 \
  }

SEJITS_FLOAT_HELPERS(float)
#ifdef cl_khr_fp64
SEJITS_FLOAT_HELPERS(double)
#endif

// NumPy's float to integer casts as x86-64 computes them (kernel_runtime.h
// says how): defined for NaN and out-of-range values, where C's are not.
#define SEJITS_FLOAT_TO_INT(F, S)                                                          \
  inline int sejits_truncate_int32_##F(F x) {                                              \
    return (x >= -2147483648.0##S && x < 2147483648.0##S) ? (int)x : INT_MIN;              \
  }                                                                                        \
  inline long sejits_truncate_int64_##F(F x) {                                             \
    return (x >= -9223372036854775808.0##S && x < 9223372036854775808.0##S) ? (long)x : LONG_MIN; \
  }                                                                                        \
  inline char sejits_##F##_to_int_char(F x) { return (char)sejits_truncate_int32_##F(x); }         \
  inline short sejits_##F##_to_int_short(F x) { return (short)sejits_truncate_int32_##F(x); }      \
  inline int sejits_##F##_to_int_int(F x) { return sejits_truncate_int32_##F(x); }                 \
  inline long sejits_##F##_to_int_long(F x) { return sejits_truncate_int64_##F(x); }               \
  inline uchar sejits_##F##_to_int_uchar(F x) { return (uchar)sejits_truncate_int32_##F(x); }      \
  inline ushort sejits_##F##_to_int_ushort(F x) { return (ushort)sejits_truncate_int32_##F(x); }   \
  inline uint sejits_##F##_to_int_uint(F x) {                                              \
    return x >= 2147483648.0##S ? ((uint)sejits_truncate_int32_##F(x - 2147483648.0##S) ^ 0x80000000u) \
                                : (uint)sejits_truncate_int32_##F(x);                      \
  }                                                                                        \
  inline ulong sejits_##F##_to_int_ulong(F x) {                                            \
    return x >= 9223372036854775808.0##S                                                   \
               ? ((ulong)sejits_truncate_int64_##F(x - 9223372036854775808.0##S) ^ 0x8000000000000000UL) \
               : (ulong)sejits_truncate_int64_##F(x);                                      \
  }

SEJITS_FLOAT_TO_INT(float, f)
#ifdef cl_khr_fp64
SEJITS_FLOAT_TO_INT(double, )
#endif

// Python int arithmetic (both operands Python ints): exact in 64 bits, or
// flagged so that the client runs the Python code.
inline long sejits_python_add(long a, long b, int *error_flag) {
  long r = (long)((ulong)a + (ulong)b);
  if (((a ^ r) & (b ^ r)) < 0) *error_flag = SEJITS_PYTHON_INT_OVERFLOW;
  return r;
}
inline long sejits_python_sub(long a, long b, int *error_flag) {
  long r = (long)((ulong)a - (ulong)b);
  if (((a ^ b) & (a ^ r)) < 0) *error_flag = SEJITS_PYTHON_INT_OVERFLOW;
  return r;
}
inline long sejits_python_mul(long a, long b, int *error_flag) {
  long r = (long)((ulong)a * (ulong)b);
  if (a != 0 && (r / a != b || (a == -1 && b == LONG_MIN))) *error_flag = SEJITS_PYTHON_INT_OVERFLOW;
  return r;
}
inline long sejits_python_pow(long base, long exponent, int *error_flag) {
  if (exponent < 0) {
    *error_flag = SEJITS_PYTHON_INT_OVERFLOW;
    return 0;
  }
  long result = 1;
  while (exponent > 0) {
    if (exponent & 1) result = sejits_python_mul(result, base, error_flag);
    exponent >>= 1;
    if (exponent > 0) base = sejits_python_mul(base, base, error_flag);
  }
  return result;
}

inline long sejits_python_left_shift(long a, long count, int *error_flag) {
  if (count < 0 || (a != 0 && count >= 63)) {
    *error_flag = SEJITS_PYTHON_INT_OVERFLOW;
    return 0;
  }
  long r = (long)((ulong)a << count);
  if ((r >> count) != a) *error_flag = SEJITS_PYTHON_INT_OVERFLOW;
  return r;
}
inline long sejits_python_right_shift(long a, long count, int *error_flag) {
  if (count < 0) {
    *error_flag = SEJITS_PYTHON_INT_OVERFLOW;
    return 0;
  }
  return count >= 64 ? (a < 0 ? -1L : 0L) : a >> count;
}

// Stencil indices: [begin, end) clamps and the boundary modes (the same
// numbering as kernel_runtime.h: 1 nearest, 2 reflect, 3 mirror, 4 wrap).
inline long sejits_min_index(long a, long b) { return a < b ? a : b; }
inline long sejits_max_index(long a, long b) { return a > b ? a : b; }
inline long sejits_boundary_index(long i, long n, int mode) {
  if (i >= 0 && i < n) return i;
  if (mode == 1) return i < 0 ? 0 : n - 1;
  if (mode == 2) {
    long period = 2 * n, r = i % period;
    if (r < 0) r += period;
    return r < n ? r : period - 1 - r;
  }
  if (mode == 3) {
    if (n == 1) return 0;
    long period = 2 * n - 2, r = i % period;
    if (r < 0) r += period;
    return r < n ? r : period - r;
  }
  long r = i % n;
  return r < 0 ? r + n : r;
}
