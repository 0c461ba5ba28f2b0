/* The kernel ABI: how a client calls every generated entry point.
 * Shared, unchanged, by the generated code, the Python extension and the C++
 * client. Plain C so that all three can include it. */
#ifndef SEJITS_KERNEL_ABI_H
#define SEJITS_KERNEL_ABI_H

#include <stdint.h>

#define SEJITS_ABI_VERSION 1
#define SEJITS_MAX_RANK 8

/* dtype codes: the same numbers as sejits.v1.DType in proto/sejits/v1/ast.proto */
enum sejits_dtype {
  SEJITS_BOOL = 1,
  SEJITS_INT8 = 2,
  SEJITS_INT16 = 3,
  SEJITS_INT32 = 4,
  SEJITS_INT64 = 5,
  SEJITS_UINT8 = 6,
  SEJITS_UINT16 = 7,
  SEJITS_UINT32 = 8,
  SEJITS_UINT64 = 9,
  SEJITS_FLOAT32 = 10,
  SEJITS_FLOAT64 = 11
};

enum sejits_arg_kind { SEJITS_ARG_ARRAY = 1, SEJITS_ARG_SCALAR = 2 };

/* Bits of sejits_arg.flags. On the output argument: */
#define SEJITS_CALL_SERIAL 1 /* run on the calling thread only (e.g. in a forked child) */

/* One argument. Arrays: data points at element [0,...,0], strides are in
 * bytes and may be zero or negative. Scalars: the value sits in `scalar`
 * (i for signed ints and bool, u for unsigned, f for floats). */
typedef struct sejits_arg {
  void *data;
  int32_t kind;
  int32_t dtype;
  int32_t rank;
  int32_t flags;
  int64_t shape[SEJITS_MAX_RANK];
  int64_t strides[SEJITS_MAX_RANK];
  union {
    int64_t i;
    uint64_t u;
    double f;
  } scalar;
} sejits_arg;

/* Every entry point has this signature. Returns 0 on success; otherwise a
 * message (NUL-terminated, at most error_len bytes) is left in `error`. */
typedef int32_t (*sejits_entry_fn)(const sejits_arg *args, int32_t nargs, char *error,
                                   int64_t error_len);

/* Every artifact exports `int32_t sejits_abi_version(void)`. */
typedef int32_t (*sejits_abi_version_fn)(void);
#define SEJITS_ABI_VERSION_SYMBOL "sejits_abi_version"

#endif /* SEJITS_KERNEL_ABI_H */
