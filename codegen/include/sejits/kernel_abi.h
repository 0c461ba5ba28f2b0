/* The kernel ABI: how a client calls every generated entry point.
 * Shared, unchanged, by the generated code, the Python extension and the C++
 * client. Plain C so that all three can include it. */
#ifndef SEJITS_KERNEL_ABI_H
#define SEJITS_KERNEL_ABI_H

#include <stdint.h>

#define SEJITS_ABI_VERSION 1
#define SEJITS_MAX_RANK 8 /* arrays of higher rank are refused (sejits._native.MAX_RANK in Python) */

/* The dtypes kernels take, one row each: X(NAME, code, "NumPy name", item size
 * in bytes, NumPy kind: 'b' bool, 'i' signed, 'u' unsigned, 'f' float).
 * This table is the one definition of them: the ABI's enum sejits_dtype below,
 * the daemon's specializers/common/dtype, the tune runner and the Python client
 * (sejits._native.DTYPES and dtype_code) all read it. The codes are also
 * sejits.v1.DType's in proto/sejits/v1/ast.proto, the wire's enum (which names
 * dtypes no kernel takes as well); tests check that the two agree. */
#define SEJITS_DTYPES(X)            \
  X(BOOL, 1, "bool", 1, 'b')        \
  X(INT8, 2, "int8", 1, 'i')        \
  X(INT16, 3, "int16", 2, 'i')      \
  X(INT32, 4, "int32", 4, 'i')      \
  X(INT64, 5, "int64", 8, 'i')      \
  X(UINT8, 6, "uint8", 1, 'u')      \
  X(UINT16, 7, "uint16", 2, 'u')    \
  X(UINT32, 8, "uint32", 4, 'u')    \
  X(UINT64, 9, "uint64", 8, 'u')    \
  X(FLOAT32, 10, "float32", 4, 'f') \
  X(FLOAT64, 11, "float64", 8, 'f')

/* SEJITS_BOOL = 1, SEJITS_INT8 = 2, ... */
enum sejits_dtype {
#define SEJITS_DTYPE_ENUMERATOR(NAME, CODE, TEXT, SIZE, KIND) SEJITS_##NAME = CODE,
  SEJITS_DTYPES(SEJITS_DTYPE_ENUMERATOR)
#undef SEJITS_DTYPE_ENUMERATOR
};

/* A dtype's item size in bytes; 0 for a code that is not in the table. */
static inline int64_t sejits_dtype_itemsize(int32_t code) {
  switch (code) {
#define SEJITS_DTYPE_ITEMSIZE(NAME, CODE, TEXT, SIZE, KIND) \
  case CODE: return SIZE;
    SEJITS_DTYPES(SEJITS_DTYPE_ITEMSIZE)
#undef SEJITS_DTYPE_ITEMSIZE
    default: return 0;
  }
}

/* A dtype's NumPy kind ('b', 'i', 'u' or 'f'); 0 for a code that is not in the table. */
static inline char sejits_dtype_kind(int32_t code) {
  switch (code) {
#define SEJITS_DTYPE_KIND(NAME, CODE, TEXT, SIZE, KIND) \
  case CODE: return KIND;
    SEJITS_DTYPES(SEJITS_DTYPE_KIND)
#undef SEJITS_DTYPE_KIND
    default: return 0;
  }
}

/* A dtype's NumPy name ("float64"); NULL for a code that is not in the table. */
static inline const char *sejits_dtype_name(int32_t code) {
  switch (code) {
#define SEJITS_DTYPE_NAME(NAME, CODE, TEXT, SIZE, KIND) \
  case CODE: return TEXT;
    SEJITS_DTYPES(SEJITS_DTYPE_NAME)
#undef SEJITS_DTYPE_NAME
    default: return 0;
  }
}

enum sejits_arg_kind {
  SEJITS_ARG_ARRAY = 1,
  SEJITS_ARG_SCALAR = 2,
  SEJITS_ARG_DEVICE_ARRAY = 3, /* OpenCL: data points at a sejits_device_buffer */
  SEJITS_ARG_DEVICE = 4        /* OpenCL: the last argument; data points at a sejits_device */
};

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

/* OpenCL entry points take the same arguments as the CPU ones, with device
 * arrays in place of host arrays, plus one SEJITS_ARG_DEVICE argument at the
 * end. A device array's shape is in `shape` and its strides (bytes; zero on
 * broadcast axes) in `strides`, as for host arrays. The entry point returns
 * once its kernels are enqueued on the device's in-order queue. */
typedef struct sejits_device_buffer {
  void *mem;      /* cl_mem */
  int64_t offset; /* bytes from the start of mem to element [0,...,0] */
} sejits_device_buffer;

typedef struct sejits_device {
  void *platform; /* cl_platform_id */
  void *device;   /* cl_device_id */
  void *context;  /* cl_context: one per process and device, alive until exit */
  void *queue;    /* cl_command_queue, in order */
  const char *binary_cache_dir; /* built programs are kept here; NULL or "": not kept */
  const char *device_key;       /* platform, device and driver version: part of the binary's key */
} sejits_device;

/* Every entry point has this signature. Returns 0 on success; otherwise a
 * message (NUL-terminated, at most error_len bytes) is left in `error`. */
typedef int32_t (*sejits_entry_fn)(const sejits_arg *args, int32_t nargs, char *error,
                                   int64_t error_len);

/* Every artifact exports `int32_t sejits_abi_version(void)`. */
typedef int32_t (*sejits_abi_version_fn)(void);
#define SEJITS_ABI_VERSION_SYMBOL "sejits_abi_version"

#endif /* SEJITS_KERNEL_ABI_H */
