/* sejits._native: loads kernel artifacts and calls their entry points on the
 * caller's NumPy buffers (no copies), releasing the GIL during the call.
 * Everything else in the client is Python; this file only does what Python
 * cannot do fast. */
#define SEJITS_NATIVE_IMPORTS_ARRAY /* import_array() is called here, for every file of the module */
#include "_native.h"

#include <structmember.h>

#include <dlfcn.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "_opencl.h"
#include "sejits/kernel_abi.h"

#define ERROR_BYTES 1024

/* NumPy type number -> sejits dtype code (0: unsupported), from the kernel
 * ABI's dtype table (NPY_FLOAT64 -> SEJITS_FLOAT64, ...). */
static int32_t dtype_code(int type_num) {
  switch (type_num) {
#define SEJITS_NUMPY_DTYPE_CASE(NAME, CODE, TEXT, SIZE, KIND) \
  case NPY_##NAME: return SEJITS_##NAME;
    SEJITS_DTYPES(SEJITS_NUMPY_DTYPE_CASE)
#undef SEJITS_NUMPY_DTYPE_CASE
    default:
      /* The C integer types that share a size with the one NumPy's sized name
       * stands for (long long beside long on LP64): by size. (The NPY_ type
       * numbers are enumerators, which #if cannot compare.) */
      if (type_num == NPY_LONG) return sizeof(long) == 8 ? SEJITS_INT64 : SEJITS_INT32;
      if (type_num == NPY_ULONG) return sizeof(long) == 8 ? SEJITS_UINT64 : SEJITS_UINT32;
      if (type_num == NPY_LONGLONG) return SEJITS_INT64;
      if (type_num == NPY_ULONGLONG) return SEJITS_UINT64;
      if (type_num == NPY_INT) return sizeof(int) == 4 ? SEJITS_INT32 : 0;
      if (type_num == NPY_UINT) return sizeof(int) == 4 ? SEJITS_UINT32 : 0;
      return 0;
  }
}

/* ---- Library: one dlopen'ed artifact ---------------------------------- */

typedef struct {
  PyObject_HEAD
  void *handle;
} Library;

static void Library_dealloc(Library *self) {
  /* Artifacts stay mapped for the life of the process: kernels may still
   * be referenced from other threads' frames. */
  Py_TYPE(self)->tp_free((PyObject *)self);
}

static PyTypeObject LibraryType;
static PyTypeObject KernelType;

struct Kernel {
  PyObject_HEAD
  PyObject *library; /* keeps the Library alive */
  sejits_entry_fn entry;
  Py_ssize_t nargs;
  PyArray_Descr *result_dtype; /* of the output the dispatcher allocates */
  PyObject *info;              /* what explain() reports, owned by Python code */
  int32_t scalar_codes[MAX_ARGS]; /* per argument: 0 for arrays, the dtype of a scalar */
};

static PyObject *Library_entry(Library *self, PyObject *args) {
  const char *symbol;
  PyObject *codes, *info;
  PyArray_Descr *result_dtype;
  if (!PyArg_ParseTuple(args, "sO!O&O", &symbol, &PyTuple_Type, &codes, PyArray_DescrConverter, &result_dtype, &info))
    return NULL;
  Py_ssize_t n = PyTuple_GET_SIZE(codes);
  if (n > MAX_ARGS) {
    Py_DECREF(result_dtype);
    PyErr_Format(PyExc_ValueError, "at most %d arguments", MAX_ARGS);
    return NULL;
  }
  void *entry = dlsym(self->handle, symbol);
  if (!entry) {
    Py_DECREF(result_dtype);
    PyErr_Format(PyExc_ImportError, "artifact has no entry point '%s'", symbol);
    return NULL;
  }
  Kernel *kernel = PyObject_New(Kernel, &KernelType);
  if (!kernel) {
    Py_DECREF(result_dtype);
    return NULL;
  }
  Py_INCREF(self);
  kernel->library = (PyObject *)self;
  kernel->result_dtype = result_dtype;
  Py_INCREF(info);
  kernel->info = info;
  kernel->entry = (sejits_entry_fn)entry;
  kernel->nargs = n;
  for (Py_ssize_t k = 0; k < n; ++k) {
    kernel->scalar_codes[k] = (int32_t)PyLong_AsLong(PyTuple_GET_ITEM(codes, k));
  }
  if (PyErr_Occurred()) {
    Py_DECREF(kernel);
    return NULL;
  }
  return (PyObject *)kernel;
}

static PyMethodDef Library_methods[] = {
    {"entry", (PyCFunction)Library_entry, METH_VARARGS,
     "entry(symbol, scalar_codes, result_dtype, info) -> Kernel. scalar_codes[k] is 0 for an array "
     "argument, else the dtype code the k-th (scalar) argument is passed as."},
    {NULL, NULL, 0, NULL}};

static PyTypeObject LibraryType = {
    PyVarObject_HEAD_INIT(NULL, 0).tp_name = "sejits._native.Library",
    .tp_basicsize = sizeof(Library),
    .tp_dealloc = (destructor)Library_dealloc,
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_doc = "A loaded sejits artifact.",
    .tp_methods = Library_methods,
};

static PyObject *load(PyObject *module, PyObject *args) {
  const char *path;
  if (!PyArg_ParseTuple(args, "s", &path)) return NULL;
  void *handle;
  Py_BEGIN_ALLOW_THREADS handle = dlopen(path, RTLD_NOW | RTLD_LOCAL);
  Py_END_ALLOW_THREADS if (!handle) {
    const char *message = dlerror();
    PyErr_Format(PyExc_ImportError, "cannot load %s: %s", path, message ? message : "unknown error");
    return NULL;
  }
  sejits_abi_version_fn version = (sejits_abi_version_fn)dlsym(handle, SEJITS_ABI_VERSION_SYMBOL);
  if (!version || version() != SEJITS_ABI_VERSION) {
    dlclose(handle);
    PyErr_Format(PyExc_ImportError, "%s was built for another kernel ABI (expected version %d)", path,
                 SEJITS_ABI_VERSION);
    return NULL;
  }
  Library *library = PyObject_New(Library, &LibraryType);
  if (!library) return NULL;
  library->handle = handle;
  return (PyObject *)library;
}

/* ---- Kernel: one entry point ------------------------------------------ */

static void Kernel_dealloc(Kernel *self) {
  Py_XDECREF(self->library);
  Py_XDECREF(self->result_dtype);
  Py_XDECREF(self->info);
  PyObject_Free(self);
}

/* An axis order: `axes[d]` is the array axis seen as axis d (rank `rank`). */
typedef struct {
  int rank;
  int axes[SEJITS_MAX_RANK];
} AxisOrder;

/* Describes `array`; with an `order` (an element-wise call's), as seen in
 * that axis order: broadcast to the order's rank first (leading axes of
 * extent 1), then its axes permuted. */
static int describe_array(PyArrayObject *array, sejits_arg *arg, const AxisOrder *order) {
  int rank = PyArray_NDIM(array);
  if (rank > SEJITS_MAX_RANK) {
    PyErr_Format(PyExc_ValueError, "arrays of rank %d are not supported (at most %d)", rank, SEJITS_MAX_RANK);
    return -1;
  }
  arg->data = PyArray_DATA(array);
  arg->kind = SEJITS_ARG_ARRAY;
  arg->dtype = PyArray_ISNOTSWAPPED(array) ? dtype_code(PyArray_TYPE(array)) : 0;
  arg->rank = rank;
  arg->flags = 0;
  npy_intp *shape = PyArray_SHAPE(array), *strides = PyArray_STRIDES(array);
  if (order && rank <= order->rank) {
    int lead = order->rank - rank;
    arg->rank = order->rank;
    for (int d = 0; d < order->rank; ++d) {
      int axis = order->axes[d] - lead;
      arg->shape[d] = axis < 0 ? 1 : shape[axis];
      arg->strides[d] = axis < 0 ? 0 : strides[axis];
    }
    return 0;
  }
  for (int d = 0; d < rank; ++d) {
    arg->shape[d] = shape[d];
    arg->strides[d] = strides[d];
  }
  return 0;
}

/* The axis order in which `out` is laid out in memory (largest |stride|
 * first, ties in axis order): an element-wise kernel computes the same
 * elements in any axis order, and its loops are dense (one flat loop) when
 * the output and its inputs are C-contiguous as seen so. 0 when that is
 * the arrays' own order. */
static int memory_order(PyArrayObject *out, AxisOrder *order) {
  int rank = PyArray_NDIM(out);
  if (PyArray_IS_C_CONTIGUOUS(out) || rank > SEJITS_MAX_RANK) return 0;
  npy_intp *strides = PyArray_STRIDES(out);
  order->rank = rank;
  for (int d = 0; d < rank; ++d) {
    int k = d; /* insertion sort: stable, and ranks are small */
    npy_intp stride = strides[d] < 0 ? -strides[d] : strides[d];
    while (k > 0) {
      npy_intp before = strides[order->axes[k - 1]];
      if ((before < 0 ? -before : before) >= stride) break;
      order->axes[k] = order->axes[k - 1];
      --k;
    }
    order->axes[k] = d;
  }
  for (int d = 0; d < rank; ++d) {
    if (order->axes[d] != d) return 1;
  }
  return 0;
}

int describe_scalar(PyObject *value, int32_t code, sejits_arg *arg) {
  arg->data = NULL;
  arg->kind = SEJITS_ARG_SCALAR;
  arg->dtype = code;
  arg->rank = 0;
  arg->flags = 0;
  switch (code) {
    case SEJITS_BOOL: {
      int truth = PyObject_IsTrue(value);
      if (truth < 0) return -1;
      arg->scalar.i = truth;
      return 0;
    }
    case SEJITS_FLOAT32:
    case SEJITS_FLOAT64:
      arg->scalar.f = PyFloat_AsDouble(value);
      break;
    case SEJITS_UINT8:
    case SEJITS_UINT16:
    case SEJITS_UINT32:
    case SEJITS_UINT64: {
      PyObject *as_int = PyNumber_Index(value);
      if (!as_int) return -1;
      arg->scalar.u = PyLong_AsUnsignedLongLongMask(as_int);
      Py_DECREF(as_int);
      break;
    }
    default: {
      int overflow = 0;
      PyObject *as_int = PyNumber_Index(value);
      if (!as_int) return -1;
      arg->scalar.i = PyLong_AsLongLongAndOverflow(as_int, &overflow);
      Py_DECREF(as_int);
      if (overflow) { /* NumPy takes it (a float result) or raises OverflowError itself: the Python code runs */
        PyErr_SetString(FallbackRequested, "a Python integer beyond 64 bits");
        return -1;
      }
    }
  }
  return PyErr_Occurred() ? -1 : 0;
}

/* Set in a child process after fork: OpenMP (libgomp) cannot start threads
 * there, so kernels are asked to run serially. */
static int forked = 0;

PyObject *FallbackRequested; /* the kernel asks for the Python code to run instead */

/* A kernel's message becomes the exception NumPy would raise: "OverflowError:
 * ..." an OverflowError, "sejits-fallback: ..." a FallbackRequested, anything
 * else a ValueError. */
void raise_kernel_error(const char *message) {
  static const char overflow_prefix[] = "OverflowError: ", fallback_prefix[] = "sejits-fallback: ";
  if (strncmp(message, overflow_prefix, sizeof overflow_prefix - 1) == 0) {
    PyErr_SetString(PyExc_OverflowError, message + sizeof overflow_prefix - 1);
  } else if (strncmp(message, fallback_prefix, sizeof fallback_prefix - 1) == 0) {
    PyErr_SetString(FallbackRequested, message + sizeof fallback_prefix - 1);
  } else {
    PyErr_SetString(PyExc_ValueError, message);
  }
}

static PyObject *mark_forked(PyObject *module, PyObject *unused) {
  forked = 1;
  Py_RETURN_NONE;
}

/* Below this many elements (of the output or the largest input) the GIL is
 * kept: releasing and taking it back costs more than the call. */
#define GIL_RELEASE_ELEMENTS 16384

static int run_kernel_in_order(Kernel *self, PyObject *const *inputs, Py_ssize_t ninputs, PyArrayObject *out,
                               const AxisOrder *order);

/* Calls the entry point on inputs[0..ninputs) and `out`. Returns 0, or -1
 * with a Python exception set. */
int run_kernel(Kernel *self, PyObject *const *inputs, Py_ssize_t ninputs, PyArrayObject *out) {
  return run_kernel_in_order(self, inputs, ninputs, out, NULL);
}

/* run_kernel, every array seen in `order` (NULL: as it is). */
static int run_kernel_in_order(Kernel *self, PyObject *const *inputs, Py_ssize_t ninputs, PyArrayObject *out,
                               const AxisOrder *order) {
  Py_ssize_t n = ninputs + 1;
  if (n != self->nargs) {
    PyErr_Format(PyExc_TypeError, "kernel takes %zd arguments, got %zd", self->nargs - 1, ninputs);
    return -1;
  }
  sejits_arg descriptors[MAX_ARGS];
  for (Py_ssize_t k = 0; k < n; ++k) {
    PyObject *value = k < ninputs ? inputs[k] : (PyObject *)out;
    int rc;
    if (self->scalar_codes[k] == 0) {
      if (!PyArray_Check(value)) {
        PyErr_Format(PyExc_TypeError, "argument %zd must be a NumPy array", k);
        return -1;
      }
      rc = describe_array((PyArrayObject *)value, &descriptors[k], order);
    } else {
      rc = describe_scalar(value, self->scalar_codes[k], &descriptors[k]);
    }
    if (rc != 0) return -1;
  }
  if (forked) descriptors[n - 1].flags |= SEJITS_CALL_SERIAL;
  char error[ERROR_BYTES];
  error[0] = '\0';
  int32_t status;
  npy_intp elements = PyArray_SIZE(out); /* a reduction's inputs are larger than its output */
  for (Py_ssize_t k = 0; k < ninputs && elements < GIL_RELEASE_ELEMENTS; ++k) {
    if (self->scalar_codes[k] == 0 && PyArray_SIZE((PyArrayObject *)inputs[k]) > elements) {
      elements = PyArray_SIZE((PyArrayObject *)inputs[k]);
    }
  }
  if (elements >= GIL_RELEASE_ELEMENTS) {
    Py_BEGIN_ALLOW_THREADS status = self->entry(descriptors, (int32_t)n, error, ERROR_BYTES);
    Py_END_ALLOW_THREADS
  } else {
    status = self->entry(descriptors, (int32_t)n, error, ERROR_BYTES);
  }
  if (status != 0) {
    raise_kernel_error(error[0] ? error : "kernel failed");
    return -1;
  }
  return 0;
}

/* kernel(inputs, out): inputs is a tuple in the order of the entry point's
 * signature, out the output array. */
static PyObject *Kernel_call(Kernel *self, PyObject *call_args, PyObject *kwargs) {
  PyObject *inputs;
  PyArrayObject *out;
  if (kwargs && PyDict_Size(kwargs) != 0) {
    PyErr_SetString(PyExc_TypeError, "kernels take no keyword arguments");
    return NULL;
  }
  if (!PyArg_ParseTuple(call_args, "O!O!", &PyTuple_Type, &inputs, &PyArray_Type, &out)) return NULL;
  if (run_kernel(self, &PyTuple_GET_ITEM(inputs, 0), PyTuple_GET_SIZE(inputs), out) != 0) return NULL;
  Py_RETURN_NONE;
}

static PyObject *Kernel_get_result_dtype(Kernel *self, void *closure) {
  Py_INCREF(self->result_dtype);
  return (PyObject *)self->result_dtype;
}

static PyObject *Kernel_get_info(Kernel *self, void *closure) {
  Py_INCREF(self->info);
  return self->info;
}

static PyObject *Kernel_get_library(Kernel *self, void *closure) {
  Py_INCREF(self->library);
  return self->library;
}

/* kernel.call_device(device, inputs, out): the same call on OpenCL device
 * arrays; see _opencl.c. */
static PyObject *Kernel_call_device(Kernel *self, PyObject *args) {
  return sejits_opencl_call_device(self->entry, self->nargs, self->scalar_codes, args);
}

static PyMethodDef Kernel_methods[] = {
    {"call_device", (PyCFunction)Kernel_call_device, METH_VARARGS,
     "call_device(device, inputs, out): runs an OpenCL entry point; each array is a (DeviceBuffer, offset, shape, "
     "strides, dtype_code) tuple. Returns once the work is enqueued on the device's queue."},
    {NULL, NULL, 0, NULL}};

static PyGetSetDef Kernel_getset[] = {
    {"library", (getter)Kernel_get_library, NULL, "the loaded artifact (its other entry points)", NULL},
    {"result_dtype", (getter)Kernel_get_result_dtype, NULL, "dtype of the output", NULL},
    {"info", (getter)Kernel_get_info, NULL, "what explain() reports", NULL},
    {NULL, NULL, NULL, NULL, NULL}};

int is_kernel(PyObject *object) { return Py_TYPE(object) == &KernelType; }

PyArray_Descr *kernel_result_dtype(Kernel *kernel) { return kernel->result_dtype; }

static PyTypeObject KernelType = {
    PyVarObject_HEAD_INIT(NULL, 0).tp_name = "sejits._native.Kernel",
    .tp_basicsize = sizeof(Kernel),
    .tp_dealloc = (destructor)Kernel_dealloc,
    .tp_call = (ternaryfunc)Kernel_call,
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_doc = "An entry point of a loaded artifact: kernel(inputs, out).",
    .tp_getset = Kernel_getset,
    .tp_methods = Kernel_methods,
};


/* ---- output buffers ------------------------------------------------------
 * Large outputs come from a small pool of recycled, already-faulted buffers:
 * a fresh allocation costs the kernel zeroing every page, as much memory
 * traffic as a third of an a*x+b kernel. A freed buffer returns to the pool
 * (at most POOL_SLOTS buffers, POOL_MAX_BYTES in all); the rest go back to
 * the system. */

#define POOL_MIN_BYTES (1 << 20)
/* tracemalloc's domain for the pool's buffers while arrays hold them (NumPy
 * traces its own data the same way), so that Python's memory accounting
 * sees sejits' outputs as it sees NumPy's. */
#define POOL_TRACE_DOMAIN 0x5e7175
#define POOL_ALIGN (2 << 20)
#define POOL_SLOTS 8
#define POOL_MAX_BYTES ((size_t)1 << 30)

static struct {
  void *data[POOL_SLOTS];
  size_t bytes[POOL_SLOTS];
  int count;
  size_t total;
} pool;

typedef struct {
  PyObject_HEAD
  void *data;
  size_t bytes;
} PooledBuffer;

static size_t pool_size_class(size_t bytes) { return (bytes + POOL_ALIGN - 1) / POOL_ALIGN * POOL_ALIGN; }

static void *pool_take(size_t bytes) {
  for (int k = 0; k < pool.count; ++k) {
    if (pool.bytes[k] == bytes) {
      void *data = pool.data[k];
      pool.total -= bytes;
      pool.data[k] = pool.data[pool.count - 1];
      pool.bytes[k] = pool.bytes[pool.count - 1];
      --pool.count;
      return data;
    }
  }
  void *data = NULL;
  if (posix_memalign(&data, POOL_ALIGN, bytes) != 0) return NULL;
  madvise(data, bytes, MADV_HUGEPAGE);
  return data;
}

static void pool_give(void *data, size_t bytes) {
  if (pool.count < POOL_SLOTS && pool.total + bytes <= POOL_MAX_BYTES) {
    pool.data[pool.count] = data;
    pool.bytes[pool.count] = bytes;
    ++pool.count;
    pool.total += bytes;
  } else {
    free(data);
  }
}

static void PooledBuffer_dealloc(PooledBuffer *self) {
  PyTraceMalloc_Untrack(POOL_TRACE_DOMAIN, (uintptr_t)self->data);
  pool_give(self->data, self->bytes);
  PyObject_Free(self);
}

static PyTypeObject PooledBufferType = {
    PyVarObject_HEAD_INIT(NULL, 0).tp_name = "sejits._native.PooledBuffer",
    .tp_basicsize = sizeof(PooledBuffer),
    .tp_dealloc = (destructor)PooledBuffer_dealloc,
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_doc = "Memory of an output array, returned to sejits' buffer pool when the array dies.",
};

static PyObject *allocate_array_in_order(int rank, npy_intp *dims, PyArray_Descr *descr, int fortran);

/* A C-contiguous array of `descr` (a reference it steals), like numpy.empty;
 * large ones come from the pool. */
PyObject *allocate_array(int rank, npy_intp *dims, PyArray_Descr *descr) {
  return allocate_array_in_order(rank, dims, descr, 0);
}

/* allocate_array, Fortran-contiguous where `fortran`. */
static PyObject *allocate_array_in_order(int rank, npy_intp *dims, PyArray_Descr *descr, int fortran) {
  size_t bytes = (size_t)PyDataType_ELSIZE(descr);
  for (int d = 0; d < rank; ++d) bytes *= (size_t)(dims[d] > 0 ? dims[d] : 0);
  if (bytes < POOL_MIN_BYTES) return PyArray_Empty(rank, dims, descr, fortran);
  size_t size_class = pool_size_class(bytes);
  void *data = pool_take(size_class);
  if (!data) {
    Py_DECREF(descr);
    return PyErr_NoMemory();
  }
  PooledBuffer *owner = PyObject_New(PooledBuffer, &PooledBufferType);
  if (!owner) {
    pool_give(data, size_class);
    Py_DECREF(descr);
    return NULL;
  }
  owner->data = data;
  owner->bytes = size_class;
  PyTraceMalloc_Track(POOL_TRACE_DOMAIN, (uintptr_t)data, bytes); /* the array's bytes; the class rounds up to 2 MiB */
  PyObject *array = PyArray_NewFromDescr(&PyArray_Type, descr, rank, dims, NULL, data,
                                         fortran ? NPY_ARRAY_FARRAY : NPY_ARRAY_CARRAY, NULL);
  if (!array) {
    Py_DECREF(owner);
    return NULL;
  }
  if (PyArray_SetBaseObject((PyArrayObject *)array, (PyObject *)owner) < 0) {
    Py_DECREF(array);
    return NULL;
  }
  return array;
}

/* empty(shape, dtype) -> a C-contiguous array, like numpy.empty. */
static PyObject *empty(PyObject *module, PyObject *args) {
  PyObject *shape_object;
  PyArray_Descr *descr;
  if (!PyArg_ParseTuple(args, "O!O&", &PyTuple_Type, &shape_object, PyArray_DescrConverter, &descr)) return NULL;
  Py_ssize_t rank = PyTuple_GET_SIZE(shape_object);
  if (rank > NPY_MAXDIMS) {
    Py_DECREF(descr);
    PyErr_SetString(PyExc_ValueError, "too many dimensions");
    return NULL;
  }
  npy_intp dims[NPY_MAXDIMS];
  for (Py_ssize_t d = 0; d < rank; ++d) dims[d] = PyLong_AsSsize_t(PyTuple_GET_ITEM(shape_object, d));
  if (PyErr_Occurred()) {
    Py_DECREF(descr);
    return NULL;
  }
  return allocate_array((int)rank, dims, descr);
}

/* ---- Dispatcher: the hot path of a decorated kernel ---------------------
 * A base type for the Python dispatcher: calling it looks the arguments'
 * signature up in `_kernels` and runs the kernel, all in C. Anything off the
 * common path (a miss, out=, broadcasting, NumPy scalars, a fallback) goes
 * to the Python method `_call_slow`. Signatures are built exactly as
 * sejits._arguments.signature_element builds them. */


static PyObject *signature_bool, *signature_int, *signature_uint64_int, *signature_float, *slow_call_name;

/* "i" for a Python int in int64, "I" for one in [2**63, 2**64) (a weak
 * uint64); NULL beyond, for the slow path to explain. */
static PyObject *int_signature_element(PyObject *value) {
  int overflow = 0;
  PyLong_AsLongLongAndOverflow(value, &overflow);
  if (overflow == 0) return signature_int;
  if (overflow > 0) {
    PyLong_AsUnsignedLongLong(value);
    if (!PyErr_Occurred()) return signature_uint64_int;
  }
  PyErr_Clear();
  return NULL;
}

/* The signature element of one argument, a new reference; NULL when the fast
 * path does not handle this kind of argument. */
PyObject *fast_signature_element(PyObject *value) {
  if (PyArray_CheckExact(value)) return PyLong_FromLong(PyArray_DESCR((PyArrayObject *)value)->type_num);
  PyTypeObject *type = Py_TYPE(value);
  PyObject *element = type == &PyFloat_Type  ? signature_float
                      : type == &PyLong_Type ? int_signature_element(value)
                      : type == &PyBool_Type ? signature_bool
                                             : NULL;
  Py_XINCREF(element);
  return element;
}

/* The current value of a free name (a new reference), as
 * sejits._capture.current reads it; NULL without an exception when unbound. */
static PyObject *live_value(PyObject *source) {
  PyObject *value = NULL;
  if (PyCell_Check(source)) {
    value = PyCell_GET(source);
  } else if (PyTuple_Check(source) && PyTuple_GET_SIZE(source) == 3 && PyDict_Check(PyTuple_GET_ITEM(source, 0)) &&
             PyDict_Check(PyTuple_GET_ITEM(source, 2))) {
    value = PyDict_GetItemWithError(PyTuple_GET_ITEM(source, 0), PyTuple_GET_ITEM(source, 1));
    if (!value && !PyErr_Occurred()) value = PyDict_GetItemWithError(PyTuple_GET_ITEM(source, 2), PyTuple_GET_ITEM(source, 1));
    if (PyErr_Occurred()) PyErr_Clear();
  }
  Py_XINCREF(value);
  return value;
}

static PyObject *call_slow(Dispatcher *self, PyObject *args, PyObject *kwargs) {
  self->last_call_native = 0;
  PyObject *method = PyObject_GetAttr((PyObject *)self, slow_call_name);
  if (!method) return NULL;
  PyObject *result = PyObject_Call(method, args, kwargs);
  Py_DECREF(method);
  return result;
}

/* Off while NumPy calls are meant for an OpenCL device (sejits.config(target=...)). */
int host_fast_path = 1;

static PyObject *set_host_fast_path(PyObject *module, PyObject *arg) {
  int enabled = PyObject_IsTrue(arg);
  if (enabled < 0) return NULL;
  host_fast_path = enabled;
  Py_RETURN_NONE;
}

/* The kernel's arguments for a plain positional call: the given ones, the
 * defaults of the rest, the scalar free names' values (new references, in
 * `held`). Returns their count, or -1 when the slow path must bind. */
Py_ssize_t bind_call(Dispatcher *self, PyObject *args, PyObject **items, PyObject **held, Py_ssize_t *nheld) {
  Py_ssize_t n = PyTuple_GET_SIZE(args);
  *nheld = 0;
  if (!self->tail_defaults || !PyTuple_Check(self->tail_defaults) || n < self->n_required || n > self->n_positional)
    return -1;
  Py_ssize_t skip = n - self->n_required, ndefaults = PyTuple_GET_SIZE(self->tail_defaults) - skip;
  Py_ssize_t nscalars = self->live_scalars && PyTuple_Check(self->live_scalars) ? PyTuple_GET_SIZE(self->live_scalars) : 0;
  Py_ssize_t total = n + ndefaults + nscalars;
  if (total + 1 > MAX_ARGS) return -1;
  for (Py_ssize_t k = 0; k < n; ++k) items[k] = PyTuple_GET_ITEM(args, k);
  for (Py_ssize_t k = 0; k < ndefaults; ++k) items[n + k] = PyTuple_GET_ITEM(self->tail_defaults, skip + k);
  for (Py_ssize_t k = 0; k < nscalars; ++k) {
    PyObject *value = live_value(PyTuple_GET_ITEM(self->live_scalars, k));
    if (!value) return -1;
    held[(*nheld)++] = value;
    items[n + ndefaults + k] = value;
  }
  return total;
}

/* The signature of the bound arguments, then `options` (borrowed: a kind of
 * kernel's own elements), then (type, value) of each key free name, as
 * sejits._dispatch builds it; NULL (no exception) for the slow path. */
PyObject *fast_signature(Dispatcher *self, PyObject **items, Py_ssize_t total, PyObject *const *options,
                         Py_ssize_t noptions) {
  Py_ssize_t nkeys = self->live_keys && PyTuple_Check(self->live_keys) ? PyTuple_GET_SIZE(self->live_keys) : 0;
  PyObject *signature = PyTuple_New(total + noptions + 2 * nkeys);
  if (!signature) return NULL;
  for (Py_ssize_t k = 0; k < total; ++k) {
    PyObject *element = fast_signature_element(items[k]);
    if (!element) {
      Py_DECREF(signature);
      return NULL;
    }
    PyTuple_SET_ITEM(signature, k, element);
  }
  for (Py_ssize_t k = 0; k < noptions; ++k) {
    Py_INCREF(options[k]);
    PyTuple_SET_ITEM(signature, total + k, options[k]);
  }
  total += noptions;
  for (Py_ssize_t k = 0; k < nkeys; ++k) {
    PyObject *value = live_value(PyTuple_GET_ITEM(self->live_keys, k));
    if (!value) {
      Py_DECREF(signature);
      return NULL;
    }
    Py_INCREF(Py_TYPE(value));
    PyTuple_SET_ITEM(signature, total + 2 * k, (PyObject *)Py_TYPE(value));
    PyTuple_SET_ITEM(signature, total + 2 * k + 1, value);
  }
  return signature;
}

/* Whether NumPy's order="K" lays out a result of this array (alone) in C
 * order: its axes longer than 1 have non-increasing |strides|, as
 * C-contiguous arrays and their slices do. */
static int c_ordered(PyArrayObject *array) {
  if (PyArray_IS_C_CONTIGUOUS(array)) return 1;
  npy_intp *shape = PyArray_SHAPE(array), *strides = PyArray_STRIDES(array), previous = NPY_MAX_INTP;
  for (int d = 0; d < PyArray_NDIM(array); ++d) {
    if (shape[d] == 1) continue;
    npy_intp stride = strides[d] < 0 ? -strides[d] : strides[d];
    if (stride > previous) return 0;
    previous = stride;
  }
  return 1;
}

/* The output a ufunc would allocate for the arrays among items[0..n)
 * (order="K", the layout NumPy's iterator picks from theirs), of `descr`
 * (borrowed); NULL with an exception set. */
static PyObject *allocate_in_inputs_order(PyObject **items, Py_ssize_t n, PyArray_Descr *descr) {
  PyArrayObject *operands[NPY_MAXARGS];
  npy_uint32 flags[NPY_MAXARGS];
  PyArray_Descr *dtypes[NPY_MAXARGS];
  int count = 0;
  for (Py_ssize_t k = 0; k < n; ++k) {
    if (!PyArray_CheckExact(items[k])) continue;
    if (count == NPY_MAXARGS - 1) break; /* the first ones decide, as for NumPy's own limit */
    operands[count] = (PyArrayObject *)items[k];
    flags[count] = NPY_ITER_READONLY;
    dtypes[count++] = NULL;
  }
  operands[count] = NULL;
  flags[count] = NPY_ITER_WRITEONLY | NPY_ITER_ALLOCATE | NPY_ITER_NO_BROADCAST;
  dtypes[count++] = descr;
  NpyIter *iter = NpyIter_MultiNew(count, operands, NPY_ITER_ZEROSIZE_OK | NPY_ITER_REFS_OK, NPY_KEEPORDER,
                                   NPY_NO_CASTING, flags, dtypes);
  if (!iter) return NULL;
  PyObject *out = (PyObject *)NpyIter_GetOperandArray(iter)[count - 1];
  Py_INCREF(out);
  NpyIter_Deallocate(iter);
  return out;
}

static PyObject *Dispatcher_call(Dispatcher *self, PyObject *args, PyObject *kwargs) {
  if (!host_fast_path || (kwargs && PyDict_GET_SIZE(kwargs) != 0) || !self->kernels) return call_slow(self, args, kwargs);
  PyObject *items[MAX_ARGS], *held[MAX_ARGS];
  Py_ssize_t nheld = 0;
  Py_ssize_t n = bind_call(self, args, items, held, &nheld);
  PyObject *result = NULL, *signature = n < 0 ? NULL : fast_signature(self, items, n, NULL, 0);
  if (!signature) goto slow;
  PyArrayObject *first_array = NULL;
  int all_zero_rank = 1, all_c_ordered = 1, all_fortran = 1;
  for (Py_ssize_t k = 0; k < n; ++k) {
    if (!PyArray_CheckExact(items[k])) continue;
    PyArrayObject *array = (PyArrayObject *)items[k];
    if (!PyArray_ISNBO(PyArray_DESCR(array)->byteorder) || PyArray_NDIM(array) > SEJITS_MAX_RANK) {
      goto slow; /* normalized (or refused) there */
    }
    if (PyArray_NDIM(array) != 0) all_zero_rank = 0;
    if (all_c_ordered && !c_ordered(array)) all_c_ordered = 0;
    if (!PyArray_IS_F_CONTIGUOUS(array)) all_fortran = 0;
    if (!first_array) {
      first_array = array;
    } else if (PyArray_NDIM(array) != PyArray_NDIM(first_array) ||
               !PyArray_CompareLists(PyArray_SHAPE(array), PyArray_SHAPE(first_array), PyArray_NDIM(array))) {
      goto slow; /* broadcasting */
    }
  }
  PyObject *kernel = PyDict_GetItemWithError(self->kernels, signature);
  if (!kernel || Py_TYPE(kernel) != &KernelType) {
    PyErr_Clear(); /* an unhashable free name's value: the slow path keys it by identity */
    goto slow;
  }
  Kernel *entry = (Kernel *)kernel;
  if (entry->nargs != n + 1) goto slow; /* several outputs (a kernel returning a tuple): Python allocates them */
  Py_INCREF(entry); /* the map may change while the GIL is released */
  PyObject *out;
  AxisOrder order;
  const AxisOrder *in_order = NULL;
  if (all_c_ordered) {
    Py_INCREF(entry->result_dtype);
    out = first_array ? allocate_array(PyArray_NDIM(first_array), PyArray_SHAPE(first_array), entry->result_dtype)
                      : allocate_array(0, NULL, entry->result_dtype);
  } else { /* laid out as a ufunc's result (order="K"), computed in its memory order */
    if (all_fortran) { /* same shapes, all Fortran-contiguous: so is NumPy's result */
      Py_INCREF(entry->result_dtype);
      out = allocate_array_in_order(PyArray_NDIM(first_array), PyArray_SHAPE(first_array), entry->result_dtype, 1);
    } else {
      out = allocate_in_inputs_order(items, n, entry->result_dtype);
    }
    if (out && memory_order((PyArrayObject *)out, &order)) in_order = &order;
  }
  int failed = !out || run_kernel_in_order(entry, items, n, (PyArrayObject *)out, in_order) != 0;
  Py_DECREF(entry);
  if (failed) {
    Py_XDECREF(out);
    if (out && PyErr_ExceptionMatches(FallbackRequested)) {
      PyErr_Clear();
      goto slow; /* which runs the Python code */
    }
    goto done;
  }
  self->last_call_native = 1;
  result = all_zero_rank ? PyArray_Return((PyArrayObject *)out) /* a NumPy scalar, as ufuncs give */ : out;
  goto done;
slow:
  result = call_slow(self, args, kwargs);
done:
  Py_XDECREF(signature);
  for (Py_ssize_t k = 0; k < nheld; ++k) Py_DECREF(held[k]);
  return result;
}

int Dispatcher_traverse(Dispatcher *self, visitproc visit, void *arg) {
  Py_VISIT(self->kernels);
  Py_VISIT(self->dict);
  Py_VISIT(self->tail_defaults);
  Py_VISIT(self->live_scalars);
  Py_VISIT(self->live_keys);
  return 0;
}

int Dispatcher_clear(Dispatcher *self) {
  Py_CLEAR(self->kernels);
  Py_CLEAR(self->dict);
  Py_CLEAR(self->tail_defaults);
  Py_CLEAR(self->live_scalars);
  Py_CLEAR(self->live_keys);
  return 0;
}

static void Dispatcher_dealloc(Dispatcher *self) {
  PyObject_GC_UnTrack(self);
  Dispatcher_clear(self);
  Py_TYPE(self)->tp_free((PyObject *)self);
}

static PyMemberDef Dispatcher_members[] = {
    {"_kernels", T_OBJECT, offsetof(Dispatcher, kernels), 0, "signature -> kernel"},
    {"_n_required", T_PYSSIZET, offsetof(Dispatcher, n_required), 0, "positional parameters without a default"},
    {"_n_positional", T_PYSSIZET, offsetof(Dispatcher, n_positional), 0, "positional parameters"},
    {"_tail_defaults", T_OBJECT, offsetof(Dispatcher, tail_defaults), 0, "defaults after the required parameters"},
    {"_live_scalars", T_OBJECT, offsetof(Dispatcher, live_scalars), 0, "where the scalar free names are read"},
    {"_live_keys", T_OBJECT, offsetof(Dispatcher, live_keys), 0, "where the key free names are read"},
    {"_last_call_native", T_BOOL, offsetof(Dispatcher, last_call_native), 0, "whether the last call ran natively"},
    {NULL, 0, 0, 0, NULL}};

PyTypeObject DispatcherType = {
    PyVarObject_HEAD_INIT(NULL, 0).tp_name = "sejits._native.Dispatcher",
    .tp_basicsize = sizeof(Dispatcher),
    .tp_dealloc = (destructor)Dispatcher_dealloc,
    .tp_call = (ternaryfunc)Dispatcher_call,
    .tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_BASETYPE | Py_TPFLAGS_HAVE_GC,
    .tp_doc = "Base of the kernel dispatchers: the in-memory signature map and its fast path.",
    .tp_traverse = (traverseproc)Dispatcher_traverse,
    .tp_clear = (inquiry)Dispatcher_clear,
    .tp_members = Dispatcher_members,
    .tp_dictoffset = offsetof(Dispatcher, dict),
    .tp_new = PyType_GenericNew,
};

/* dtype_code(dtype): the kernel ABI's code of a NumPy dtype (0: not one
 * kernels take); the same numbers as sejits.v1.DType, without importing protobuf. */
static PyObject *dtype_code_of(PyObject *module, PyObject *arg) {
  PyArray_Descr *descr = NULL;
  if (!PyArray_DescrConverter(arg, &descr)) return NULL;
  int32_t code = PyArray_ISNBO(descr->byteorder) ? dtype_code(descr->type_num) : 0;
  Py_DECREF(descr);
  return PyLong_FromLong(code);
}

/* call_elementwise(kernel, inputs, out): kernel(inputs, out) for an
 * element-wise kernel, every array seen in out's memory order (the loops
 * stay dense for a Fortran-ordered output and inputs). */
static PyObject *call_elementwise(PyObject *module, PyObject *args) {
  Kernel *kernel;
  PyObject *inputs;
  PyArrayObject *out;
  if (!PyArg_ParseTuple(args, "O!O!O!", &KernelType, &kernel, &PyTuple_Type, &inputs, &PyArray_Type, &out)) return NULL;
  AxisOrder order;
  const AxisOrder *in_order = memory_order(out, &order) ? &order : NULL;
  if (run_kernel_in_order(kernel, &PyTuple_GET_ITEM(inputs, 0), PyTuple_GET_SIZE(inputs), out, in_order) != 0)
    return NULL;
  Py_RETURN_NONE;
}

static PyObject *empty_like_inputs(PyObject *module, PyObject *args) {
  PyObject *inputs;
  PyArray_Descr *descr;
  if (!PyArg_ParseTuple(args, "O!O&", &PyTuple_Type, &inputs, PyArray_DescrConverter, &descr)) return NULL;
  PyObject *out = allocate_in_inputs_order(&PyTuple_GET_ITEM(inputs, 0), PyTuple_GET_SIZE(inputs), descr);
  Py_DECREF(descr);
  return out;
}

static PyMethodDef module_methods[] = {
    {"call_elementwise", call_elementwise, METH_VARARGS,
     "call_elementwise(kernel, inputs, out): an element-wise kernel's call, computed in out's memory order."},
    {"empty_like_inputs", empty_like_inputs, METH_VARARGS,
     "empty_like_inputs(inputs, dtype) -> the array a ufunc would allocate for the arrays among inputs "
     "(order=\"K\": broadcast shape, the inputs' memory order)."},
    {"load", load, METH_VARARGS, "load(path) -> Library: dlopen an artifact and check its ABI version."},
    {"dtype_code", dtype_code_of, METH_O, "dtype_code(dtype) -> the kernel ABI's code of a NumPy dtype (0: none)."},
    {"empty", empty, METH_VARARGS, "empty(shape, dtype) -> a C-contiguous array; large ones from the buffer pool."},
    {"set_host_fast_path", set_host_fast_path, METH_O,
     "set_host_fast_path(enabled): whether dispatchers run CPU kernels on NumPy calls without Python."},
    {"mark_forked", mark_forked, METH_NOARGS, "Called in a forked child: kernels run on the calling thread from now on."},
    {NULL, NULL, 0, NULL}};

static struct PyModuleDef module_def = {PyModuleDef_HEAD_INIT, "sejits._native",
                                        "Loads sejits artifacts and calls their kernels.", -1, module_methods};

PyMODINIT_FUNC PyInit__native(void) {
  import_array();
  if (PyType_Ready(&LibraryType) < 0 || PyType_Ready(&KernelType) < 0 || PyType_Ready(&PooledBufferType) < 0 ||
      PyType_Ready(&DispatcherType) < 0)
    return NULL;
  signature_bool = PyUnicode_InternFromString("b");
  signature_int = PyUnicode_InternFromString("i");
  signature_uint64_int = PyUnicode_InternFromString("I");
  signature_float = PyUnicode_InternFromString("f");
  slow_call_name = PyUnicode_InternFromString("_call_slow");
  PyObject *module = PyModule_Create(&module_def);
  if (!module) return NULL;
  Py_INCREF(&DispatcherType);
  PyModule_AddObject(module, "Dispatcher", (PyObject *)&DispatcherType);
  Py_INCREF(&KernelType); /* not constructible from Python; exposed for introspection */
  PyModule_AddObject(module, "Kernel", (PyObject *)&KernelType);
  FallbackRequested = PyErr_NewException("sejits._native.FallbackRequested", NULL, NULL);
  if (!FallbackRequested) return NULL;
  Py_INCREF(FallbackRequested);
  PyModule_AddObject(module, "FallbackRequested", FallbackRequested);
  PyModule_AddIntConstant(module, "ABI_VERSION", SEJITS_ABI_VERSION);
  if (sejits_opencl_init(module) < 0 || sejits_stencil_init(module) < 0 || sejits_tables_init(module) < 0) return NULL;
  return module;
}
