/* sejits._native: loads kernel artifacts and calls their entry points on the
 * caller's NumPy buffers (no copies), releasing the GIL during the call.
 * Everything else in the client is Python; this file only does what Python
 * cannot do fast. */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#define NPY_NO_DEPRECATED_API NPY_1_7_API_VERSION
#include <numpy/arrayobject.h>

#include <dlfcn.h>
#include <string.h>

#include "sejits/kernel_abi.h"

#define MAX_ARGS 256
#define ERROR_BYTES 1024

/* NumPy type number -> sejits dtype code (0: unsupported). */
static int32_t dtype_code(int type_num) {
  switch (type_num) {
    case NPY_BOOL: return SEJITS_BOOL;
    case NPY_INT8: return SEJITS_INT8;
    case NPY_INT16: return SEJITS_INT16;
    case NPY_INT32: return SEJITS_INT32;
    case NPY_INT64: return SEJITS_INT64;
    case NPY_UINT8: return SEJITS_UINT8;
    case NPY_UINT16: return SEJITS_UINT16;
    case NPY_UINT32: return SEJITS_UINT32;
    case NPY_UINT64: return SEJITS_UINT64;
    case NPY_FLOAT32: return SEJITS_FLOAT32;
    case NPY_FLOAT64: return SEJITS_FLOAT64;
    default:
#if NPY_LONG != NPY_INT64
      if (type_num == NPY_LONG) return sizeof(long) == 8 ? SEJITS_INT64 : SEJITS_INT32;
      if (type_num == NPY_ULONG) return sizeof(long) == 8 ? SEJITS_UINT64 : SEJITS_UINT32;
#endif
#if NPY_LONGLONG != NPY_INT64
      if (type_num == NPY_LONGLONG) return SEJITS_INT64;
      if (type_num == NPY_ULONGLONG) return SEJITS_UINT64;
#endif
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

typedef struct {
  PyObject_HEAD
  PyObject *library; /* keeps the Library alive */
  sejits_entry_fn entry;
  Py_ssize_t nargs;
  int32_t scalar_codes[MAX_ARGS]; /* per argument: 0 for arrays, the dtype of a scalar */
} Kernel;

static PyObject *Library_entry(Library *self, PyObject *args) {
  const char *symbol;
  PyObject *codes;
  if (!PyArg_ParseTuple(args, "sO!", &symbol, &PyTuple_Type, &codes)) return NULL;
  Py_ssize_t n = PyTuple_GET_SIZE(codes);
  if (n > MAX_ARGS) {
    PyErr_Format(PyExc_ValueError, "at most %d arguments", MAX_ARGS);
    return NULL;
  }
  void *entry = dlsym(self->handle, symbol);
  if (!entry) {
    PyErr_Format(PyExc_ImportError, "artifact has no entry point '%s'", symbol);
    return NULL;
  }
  Kernel *kernel = PyObject_New(Kernel, &KernelType);
  if (!kernel) return NULL;
  Py_INCREF(self);
  kernel->library = (PyObject *)self;
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
     "entry(symbol, scalar_codes) -> Kernel. scalar_codes[k] is 0 for an array argument, "
     "else the dtype code the k-th (scalar) argument is passed as."},
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
  PyObject_Free(self);
}

static int describe_array(PyArrayObject *array, sejits_arg *arg) {
  int rank = PyArray_NDIM(array);
  if (rank > SEJITS_MAX_RANK) {
    PyErr_Format(PyExc_ValueError, "arrays of rank %d are not supported (at most %d)", rank, SEJITS_MAX_RANK);
    return -1;
  }
  arg->data = PyArray_DATA(array);
  arg->kind = SEJITS_ARG_ARRAY;
  arg->dtype = PyArray_ISNOTSWAPPED(array) ? dtype_code(PyArray_TYPE(array)) : 0;
  arg->rank = rank;
  arg->reserved = 0;
  npy_intp *shape = PyArray_SHAPE(array), *strides = PyArray_STRIDES(array);
  for (int d = 0; d < rank; ++d) {
    arg->shape[d] = shape[d];
    arg->strides[d] = strides[d];
  }
  return 0;
}

static int describe_scalar(PyObject *value, int32_t code, sejits_arg *arg) {
  arg->data = NULL;
  arg->kind = SEJITS_ARG_SCALAR;
  arg->dtype = code;
  arg->rank = 0;
  arg->reserved = 0;
  switch (code) {
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
      if (overflow) {
        PyErr_SetString(PyExc_OverflowError, "Python integer does not fit in 64 bits");
        return -1;
      }
    }
  }
  return PyErr_Occurred() ? -1 : 0;
}

/* kernel(args): args is a tuple of the inputs and the output array, in the
 * order of the entry point's signature. */
static PyObject *Kernel_call(Kernel *self, PyObject *call_args, PyObject *kwargs) {
  PyObject *args;
  if (kwargs && PyDict_Size(kwargs) != 0) {
    PyErr_SetString(PyExc_TypeError, "kernels take no keyword arguments");
    return NULL;
  }
  if (!PyArg_ParseTuple(call_args, "O!", &PyTuple_Type, &args)) return NULL;
  Py_ssize_t n = PyTuple_GET_SIZE(args);
  if (n != self->nargs) {
    PyErr_Format(PyExc_TypeError, "kernel takes %zd arguments, got %zd", self->nargs, n);
    return NULL;
  }
  sejits_arg descriptors[MAX_ARGS];
  for (Py_ssize_t k = 0; k < n; ++k) {
    PyObject *value = PyTuple_GET_ITEM(args, k);
    int rc;
    if (self->scalar_codes[k] == 0) {
      if (!PyArray_Check(value)) {
        PyErr_Format(PyExc_TypeError, "argument %zd must be a NumPy array", k);
        return NULL;
      }
      rc = describe_array((PyArrayObject *)value, &descriptors[k]);
    } else {
      rc = describe_scalar(value, self->scalar_codes[k], &descriptors[k]);
    }
    if (rc != 0) return NULL;
  }
  char error[ERROR_BYTES];
  error[0] = '\0';
  int32_t status;
  Py_BEGIN_ALLOW_THREADS status = self->entry(descriptors, (int32_t)n, error, ERROR_BYTES);
  Py_END_ALLOW_THREADS if (status != 0) {
    PyErr_SetString(PyExc_ValueError, error[0] ? error : "kernel failed");
    return NULL;
  }
  Py_RETURN_NONE;
}

static PyTypeObject KernelType = {
    PyVarObject_HEAD_INIT(NULL, 0).tp_name = "sejits._native.Kernel",
    .tp_basicsize = sizeof(Kernel),
    .tp_dealloc = (destructor)Kernel_dealloc,
    .tp_call = (ternaryfunc)Kernel_call,
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_doc = "An entry point of a loaded artifact: call it with a tuple of arguments.",
};

static PyMethodDef module_methods[] = {
    {"load", load, METH_VARARGS, "load(path) -> Library: dlopen an artifact and check its ABI version."},
    {NULL, NULL, 0, NULL}};

static struct PyModuleDef module_def = {PyModuleDef_HEAD_INIT, "sejits._native",
                                        "Loads sejits artifacts and calls their kernels.", -1, module_methods};

PyMODINIT_FUNC PyInit__native(void) {
  import_array();
  if (PyType_Ready(&LibraryType) < 0 || PyType_Ready(&KernelType) < 0) return NULL;
  PyObject *module = PyModule_Create(&module_def);
  if (!module) return NULL;
  PyModule_AddIntConstant(module, "ABI_VERSION", SEJITS_ABI_VERSION);
  return module;
}
