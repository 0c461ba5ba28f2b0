// Helpers that generated kernels call: NumPy's semantics for the operations C
// does not share (floor division, modulo, integer power, NaN-propagating
// min/max), broadcasting iteration over strided operands, and error reporting.
// Included by every generated C++ source; never by the daemon itself.
#ifndef SEJITS_KERNEL_RUNTIME_H
#define SEJITS_KERNEL_RUNTIME_H

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#ifdef _OPENMP
#include <omp.h>
#endif

#include "sejits/cache_share.h"
#include "sejits/kernel_abi.h"
#include "sejits/stencil_wavefront.h"

#if defined(__x86_64__)
// SSE2's header only: <immintrin.h> (every ISA extension's intrinsics) is
// about 60k lines under -march=native and took two thirds of a small
// kernel's compile time. 16-byte streaming stores fill a line's
// write-combining buffer as well as wider ones do.
#include <emmintrin.h>
#endif

// glibc's libmvec has SIMD versions of these; declaring them lets the
// vectorizer call them (glibc only declares them under -ffast-math, which
// would also change NaN and signed-zero semantics, so we do not use it).
#define SEJITS_SIMD_DECL(ret, name, ...) \
  extern "C" ret name(__VA_ARGS__) noexcept __attribute__((simd("notinbranch")));
SEJITS_SIMD_DECL(double, sin, double)
SEJITS_SIMD_DECL(double, cos, double)
SEJITS_SIMD_DECL(double, tan, double)
SEJITS_SIMD_DECL(double, asin, double)
SEJITS_SIMD_DECL(double, acos, double)
SEJITS_SIMD_DECL(double, atan, double)
SEJITS_SIMD_DECL(double, atan2, double, double)
SEJITS_SIMD_DECL(double, sinh, double)
SEJITS_SIMD_DECL(double, cosh, double)
SEJITS_SIMD_DECL(double, tanh, double)
SEJITS_SIMD_DECL(double, exp, double)
SEJITS_SIMD_DECL(double, expm1, double)
SEJITS_SIMD_DECL(double, log, double)
SEJITS_SIMD_DECL(double, log1p, double)
SEJITS_SIMD_DECL(double, log2, double)
SEJITS_SIMD_DECL(double, log10, double)
SEJITS_SIMD_DECL(double, hypot, double, double)
SEJITS_SIMD_DECL(double, pow, double, double)
SEJITS_SIMD_DECL(float, sinf, float)
SEJITS_SIMD_DECL(float, cosf, float)
SEJITS_SIMD_DECL(float, tanf, float)
SEJITS_SIMD_DECL(float, asinf, float)
SEJITS_SIMD_DECL(float, acosf, float)
SEJITS_SIMD_DECL(float, atanf, float)
SEJITS_SIMD_DECL(float, atan2f, float, float)
SEJITS_SIMD_DECL(float, sinhf, float)
SEJITS_SIMD_DECL(float, coshf, float)
SEJITS_SIMD_DECL(float, tanhf, float)
SEJITS_SIMD_DECL(float, expf, float)
SEJITS_SIMD_DECL(float, expm1f, float)
SEJITS_SIMD_DECL(float, logf, float)
SEJITS_SIMD_DECL(float, log1pf, float)
SEJITS_SIMD_DECL(float, log2f, float)
SEJITS_SIMD_DECL(float, log10f, float)
SEJITS_SIMD_DECL(float, hypotf, float, float)
SEJITS_SIMD_DECL(float, powf, float, float)
#undef SEJITS_SIMD_DECL

#define SEJITS_EXPORT extern "C" __attribute__((visibility("default")))

static inline int32_t sejits_fail(char *error, int64_t error_len, const char *message) {
  if (error && error_len > 0) {
    snprintf(error, (size_t)error_len, "%s", message);
  }
  return 1;
}

// NumPy's OverflowError for a Python int that does not fit the dtype it
// meets; the client raises it as OverflowError.
static inline int32_t sejits_fail_out_of_bounds(char *error, int64_t error_len, int64_t value, const char *dtype) {
  if (error && error_len > 0) {
    snprintf(error, (size_t)error_len, "OverflowError: Python integer %lld out of bounds for %s", (long long)value, dtype);
  }
  return 1;
}
static inline int32_t sejits_fail_out_of_bounds(char *error, int64_t error_len, uint64_t value, const char *dtype) {
  if (error && error_len > 0) {
    snprintf(error, (size_t)error_len, "OverflowError: Python integer %llu out of bounds for %s", (unsigned long long)value, dtype);
  }
  return 1;
}

// ---- NumPy arithmetic semantics ------------------------------------------

template <typename T>
static inline T sejits_floor_div_int(T a, T b) {
  if (b == 0) return 0;  // NumPy: 0 with a divide-by-zero warning
  if ((T)-1 < 0 && b == (T)-1) return (T)(0 - (uint64_t)a);  // MIN / -1 wraps
  T q = a / b;
  if ((a % b != 0) && ((a < 0) != (b < 0))) --q;
  return q;
}

template <typename T>
static inline T sejits_mod_int(T a, T b) {
  if (b == 0) return 0;
  if ((T)-1 < 0 && b == (T)-1) return 0;
  T r = a % b;
  if (r != 0 && ((r < 0) != (b < 0))) r += b;
  return r;
}

template <typename T>
static inline T sejits_mod_float(T a, T b) {
  if (b == 0) return fmod(a, b);
  T mod = fmod(a, b);
  if (mod != 0) {
    if ((b < 0) != (mod < 0)) mod += b;
  } else {
    mod = copysign((T)0, b);
  }
  return mod;
}

template <typename T>
static inline T sejits_floor_div_float(T a, T b) {
  if (b == 0) return a / b;
  T mod = fmod(a, b);
  T div = (a - mod) / b;
  if (mod != 0 && ((b < 0) != (mod < 0))) div -= 1;
  T floordiv;
  if (div != 0) {
    floordiv = floor(div);
    if (div - floordiv > (T)0.5) floordiv += 1;
  } else {
    floordiv = copysign((T)0, a / b);
  }
  return floordiv;
}

// Error flags a kernel's loop may raise; the entry point turns them into a
// message once the loop is done.
enum sejits_error_flag {
  SEJITS_NEGATIVE_INTEGER_POWER = 1,  // NumPy raises ValueError
  SEJITS_PYTHON_INT_OVERFLOW = 2,     // Python would compute with big ints: the client runs the Python code
};

// Python int arithmetic (both operands Python ints): exact, or flagged.
static inline int64_t sejits_python_add(int64_t a, int64_t b, int *error_flag) {
  int64_t r;
  if (__builtin_add_overflow(a, b, &r)) *error_flag = SEJITS_PYTHON_INT_OVERFLOW;
  return r;
}
static inline int64_t sejits_python_sub(int64_t a, int64_t b, int *error_flag) {
  int64_t r;
  if (__builtin_sub_overflow(a, b, &r)) *error_flag = SEJITS_PYTHON_INT_OVERFLOW;
  return r;
}
static inline int64_t sejits_python_mul(int64_t a, int64_t b, int *error_flag) {
  int64_t r;
  if (__builtin_mul_overflow(a, b, &r)) *error_flag = SEJITS_PYTHON_INT_OVERFLOW;
  return r;
}
// Python's shifts: exact, or flagged (a result beyond 64 bits; a negative
// count, which Python refuses with ValueError).
static inline int64_t sejits_python_left_shift(int64_t a, int64_t count, int *error_flag) {
  if (count < 0 || (a != 0 && count >= 63)) {
    *error_flag = SEJITS_PYTHON_INT_OVERFLOW;
    return 0;
  }
  int64_t r = (int64_t)((uint64_t)a << count);
  if ((r >> count) != a) *error_flag = SEJITS_PYTHON_INT_OVERFLOW;
  return r;
}
static inline int64_t sejits_python_right_shift(int64_t a, int64_t count, int *error_flag) {
  if (count < 0) {
    *error_flag = SEJITS_PYTHON_INT_OVERFLOW;
    return 0;
  }
  return count >= 64 ? (a < 0 ? -1 : 0) : a >> count;
}
// A negative exponent gives a Python float, which an int result cannot hold.
static inline int64_t sejits_python_pow(int64_t base, int64_t exponent, int *error_flag) {
  if (exponent < 0) {
    *error_flag = SEJITS_PYTHON_INT_OVERFLOW;
    return 0;
  }
  int64_t result = 1;
  while (exponent > 0) {
    if ((exponent & 1) && __builtin_mul_overflow(result, base, &result)) *error_flag = SEJITS_PYTHON_INT_OVERFLOW;
    exponent >>= 1;
    if (exponent > 0 && __builtin_mul_overflow(base, base, &base)) *error_flag = SEJITS_PYTHON_INT_OVERFLOW;
  }
  return result;
}

// Integer power by squaring; a negative exponent raises in NumPy, so the
// caller's error flag is set (and 0 returned).
template <typename T>
static inline T sejits_pow_int(T base, T exponent, int *error_flag) {
  if ((T)-1 < 0 && exponent < 0) {
    *error_flag = SEJITS_NEGATIVE_INTEGER_POWER;
    return 0;
  }
  uint64_t result = 1, b = (uint64_t)base, e = (uint64_t)exponent;
  while (e) {
    if (e & 1) result *= b;
    b *= b;
    e >>= 1;
  }
  return (T)result;
}

// NumPy's shifts: a count outside [0, bits) shifts every bit out (0, or -1
// for a right shift of a negative value) where C's would be undefined.
// Left shifts run in uint64_t, where bits leaving the top are defined.
template <typename T>
static inline T sejits_left_shift(T a, T b) {
  if ((uint64_t)b < sizeof(T) * 8) return (T)((uint64_t)a << b);
  return 0;
}

template <typename T>
static inline T sejits_right_shift(T a, T b) {
  if ((uint64_t)b < sizeof(T) * 8) return (T)(a >> b);
  return a < (T)0 ? (T)-1 : (T)0;
}

template <typename T>
static inline T sejits_maximum(T a, T b) {
  if (a != a) return a;
  if (b != b) return b;
  return a >= b ? a : b;
}

template <typename T>
static inline T sejits_minimum(T a, T b) {
  if (a != a) return a;
  if (b != b) return b;
  return a <= b ? a : b;
}

template <typename T>
static inline T sejits_abs(T a) {
  return a < 0 ? (T)(0 - a) : a;
}

static inline float sejits_abs(float a) { return fabsf(a); }
static inline double sejits_abs(double a) { return fabs(a); }
static inline bool sejits_abs(bool a) { return a; }

// ---- float to integer conversions ------------------------------------------

// NumPy's casts (astype) as x86-64 computes them, where C's conversion of a
// NaN or an out-of-range value would be undefined: x86's truncating
// conversion to int32 or int64 gives the minimum for those; int8, int16,
// uint8 and uint16 keep the low bits of the int32 conversion; uint32 and
// uint64 subtract 2^31 (2^63) from values at or above it and flip the top bit.
static inline int32_t sejits_truncate_int32(double x) {
  return (x >= -2147483648.0 && x < 2147483648.0) ? (int32_t)x : INT32_MIN;
}
static inline int64_t sejits_truncate_int64(double x) {
  return (x >= -9223372036854775808.0 && x < 9223372036854775808.0) ? (int64_t)x : INT64_MIN;
}

template <typename T>
static inline T sejits_double_to_int(double x) {
  const bool is_signed = (T)-1 < (T)0;
  if (sizeof(T) < 4 || (sizeof(T) == 4 && is_signed)) return (T)(uint32_t)sejits_truncate_int32(x);
  if (is_signed) return (T)sejits_truncate_int64(x);
  if (sizeof(T) == 4) {
    return x >= 2147483648.0 ? (T)((uint32_t)sejits_truncate_int32(x - 2147483648.0) ^ 0x80000000u)
                             : (T)(uint32_t)sejits_truncate_int32(x);
  }
  return x >= 9223372036854775808.0 ? (T)((uint64_t)sejits_truncate_int64(x - 9223372036854775808.0) ^ 0x8000000000000000ull)
                                    : (T)(uint64_t)sejits_truncate_int64(x);
}

template <typename T>
static inline T sejits_float_to_int(float x) { return sejits_double_to_int<T>((double)x); }

// ---- streaming stores --------------------------------------------------

// Copies a block computed in L1-resident scratch to its place in a large
// output with non-temporal stores: whole cache lines are written without
// being read first, so an output stream costs its size in memory traffic,
// not twice that. Edges that are not whole aligned lines use plain stores.
static inline void sejits_stream_copy(void *destination, const void *source, int64_t bytes) {
  char *d = (char *)destination;
  const char *s = (const char *)source;
#if defined(__x86_64__) && defined(__SSE2__)
  int64_t head = (int64_t)((64 - ((uintptr_t)d & 63)) & 63);
  if (head > bytes) head = bytes;
  memcpy(d, s, (size_t)head);
  d += head;
  s += head;
  bytes -= head;
  for (; bytes >= 64; bytes -= 64, d += 64, s += 64) {
    for (int k = 0; k < 64; k += 16) _mm_stream_si128((__m128i *)(d + k), _mm_loadu_si128((const __m128i *)(s + k)));
  }
#endif
  memcpy(d, s, (size_t)bytes);
}

// Orders this thread's streaming stores before whatever follows.
static inline void sejits_stream_fence(void) {
#if defined(__x86_64__) && defined(__SSE2__)
  _mm_sfence();
#endif
}

// ---- caches ----------------------------------------------------------------

// The cache the kernel's data can count on staying in: this process's share
// of the last-level caches (sejits/cache_share.h).
static inline int64_t sejits_cache_bytes(void) { return sejits_usable_cache_bytes(); }

// The threads a parallel region of this call would get.
static inline int64_t sejits_max_threads(void) {
#ifdef _OPENMP
  return omp_get_max_threads();
#else
  return 1;
#endif
}

/* Busy-waits: the test-only slow variant of the tuner's tests (see the
 * element-wise variant spin_us). */
static inline void sejits_spin_microseconds(int64_t microseconds) {
  struct timespec start, now;
  clock_gettime(CLOCK_MONOTONIC, &start);
  do {
    clock_gettime(CLOCK_MONOTONIC, &now);
  } while ((now.tv_sec - start.tv_sec) * 1000000 + (now.tv_nsec - start.tv_nsec) / 1000 < microseconds);
}

// ---- stencil boundaries --------------------------------------------------

// How a read outside [0, n) is resolved, as scipy.ndimage names the modes.
enum sejits_boundary_mode {
  SEJITS_BOUNDARY_NEAREST = 1,  // a a | a b c d | d d
  SEJITS_BOUNDARY_REFLECT = 2,  // b a | a b c d | d c
  SEJITS_BOUNDARY_MIRROR = 3,   // c b | a b c d | c b
  SEJITS_BOUNDARY_WRAP = 4,     // c d | a b c d | a b
};

static inline int64_t sejits_min_index(int64_t a, int64_t b) { return a < b ? a : b; }
static inline int64_t sejits_max_index(int64_t a, int64_t b) { return a > b ? a : b; }

static inline int64_t sejits_boundary_index(int64_t i, int64_t n, int mode) {
  if (i >= 0 && i < n) return i;
  switch (mode) {
    case SEJITS_BOUNDARY_NEAREST:
      return i < 0 ? 0 : n - 1;
    case SEJITS_BOUNDARY_REFLECT: {
      int64_t period = 2 * n, r = i % period;
      if (r < 0) r += period;
      return r < n ? r : period - 1 - r;
    }
    case SEJITS_BOUNDARY_MIRROR: {
      if (n == 1) return 0;
      int64_t period = 2 * n - 2, r = i % period;
      if (r < 0) r += period;
      return r < n ? r : period - r;
    }
    default: {
      int64_t r = i % n;
      return r < 0 ? r + n : r;
    }
  }
}

// ---- broadcasting iteration ----------------------------------------------

// The operands of an element-wise kernel seen as [outer..., inner]: shapes
// broadcast against the output, dimensions merged where every operand's
// strides allow, the last dimension kept as the vectorizable inner loop.
struct sejits_iter {
  int32_t rank;                         // after merging; at least 1
  int64_t shape[SEJITS_MAX_RANK];
  int64_t size;                         // elements in all
  int64_t outer_size;                   // product of shape[0 .. rank-2]
  int32_t noperands;
  int64_t strides[SEJITS_MAX_RANK + 1][SEJITS_MAX_RANK];  // bytes, per operand
  char *base[SEJITS_MAX_RANK + 1];
};

// operands[k] points at the k-th array argument; the last one is the output.
// Returns 0, or 1 with a message when shapes do not broadcast.
static inline int32_t sejits_iter_init(sejits_iter *it, const sejits_arg *const *operands,
                                       int32_t noperands, char *error, int64_t error_len) {
  const sejits_arg *out = operands[noperands - 1];
  if (noperands > SEJITS_MAX_RANK + 1) return sejits_fail(error, error_len, "too many operands");
  int32_t rank = out->rank;
  it->noperands = noperands;
  it->size = 1;
  for (int32_t d = 0; d < rank; ++d) it->size *= out->shape[d];
  for (int32_t k = 0; k < noperands; ++k) {
    const sejits_arg *a = operands[k];
    if (a->rank > rank) return sejits_fail(error, error_len, "operand has higher rank than the output");
    it->base[k] = (char *)a->data;
    int32_t lead = rank - a->rank;
    for (int32_t d = rank - 1; d >= 0; --d) {
      int64_t stride = 0;
      if (d >= lead) {
        int64_t extent = a->shape[d - lead];
        if (extent == out->shape[d]) {
          stride = a->strides[d - lead];
        } else if (extent == 1) {
          stride = 0;
        } else {
          char message[160];
          snprintf(message, sizeof message,
                   "operands could not be broadcast together: operand %d has extent %lld in "
                   "axis %d, the output %lld",
                   (int)k, (long long)extent, (int)(d - lead), (long long)out->shape[d]);
          return sejits_fail(error, error_len, message);
        }
      }
      it->strides[k][d] = stride;
    }
  }
  // Merge dimension d into d+1 when, for every operand, stepping once in d
  // equals stepping shape[d+1] times in d+1.
  int64_t shape[SEJITS_MAX_RANK];
  int32_t merged = 0;
  for (int32_t d = 0; d < rank; ++d) {
    if (out->shape[d] == 1 && rank > 1) continue;  // size-1 axes carry no iteration
    bool can_merge = merged > 0;
    for (int32_t k = 0; k < noperands && can_merge; ++k) {
      can_merge = it->strides[k][merged - 1] == it->strides[k][d] * out->shape[d];
    }
    if (can_merge) {
      shape[merged - 1] *= out->shape[d];
      for (int32_t k = 0; k < noperands; ++k) it->strides[k][merged - 1] = it->strides[k][d];
    } else {
      shape[merged] = out->shape[d];
      for (int32_t k = 0; k < noperands; ++k) it->strides[k][merged] = it->strides[k][d];
      ++merged;
    }
  }
  if (merged == 0) {
    shape[0] = rank == 0 ? 1 : out->shape[0];
    for (int32_t k = 0; k < noperands; ++k) it->strides[k][0] = 0;
    merged = 1;
  }
  it->rank = merged;
  for (int32_t d = 0; d < merged; ++d) it->shape[d] = shape[d];
  it->outer_size = 1;
  for (int32_t d = 0; d + 1 < merged; ++d) it->outer_size *= shape[d];
  return 0;
}

// True when operand k is one dense run of `itemsize`-byte elements.
static inline bool sejits_iter_dense(const sejits_iter *it, int32_t k, int64_t itemsize) {
  return it->rank == 1 && (it->strides[k][0] == itemsize || it->size <= 1);
}

// Byte offsets of every operand at the start of inner row `row`.
static inline void sejits_iter_row(const sejits_iter *it, int64_t row, char **pointers) {
  for (int32_t k = 0; k < it->noperands; ++k) pointers[k] = it->base[k];
  for (int32_t d = it->rank - 2; d >= 0; --d) {
    int64_t index = row % it->shape[d];
    row /= it->shape[d];
    for (int32_t k = 0; k < it->noperands; ++k) pointers[k] += index * it->strides[k][d];
  }
}

#include "sejits/reduce_runtime.h"  /* after sejits_fail, which it calls */

#endif  // SEJITS_KERNEL_RUNTIME_H
