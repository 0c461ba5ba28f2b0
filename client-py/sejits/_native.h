/* What the files of sejits._native share: the dispatcher base type and its
 * hot path's pieces (_native.c), used again by the stencil dispatcher's fast
 * path (_native_stencil.c). */
#ifndef SEJITS_NATIVE_H
#define SEJITS_NATIVE_H

#define PY_SSIZE_T_CLEAN
#include <Python.h>
/* One NumPy C-API table for the whole module: _native.c imports it. */
#define PY_ARRAY_UNIQUE_SYMBOL sejits_native_ARRAY_API
#ifndef SEJITS_NATIVE_IMPORTS_ARRAY
#define NO_IMPORT_ARRAY
#endif
#define NPY_NO_DEPRECATED_API NPY_1_7_API_VERSION
#include <numpy/arrayobject.h>

#define MAX_ARGS 256

/* An entry point of a loaded artifact (private to _native.c). */
typedef struct Kernel Kernel;

/* The base of the Python kernel dispatchers (sejits._dispatch). */
typedef struct {
  PyObject_HEAD
  PyObject *kernels; /* dict: signature tuple -> Kernel (or a fallback marker) */
  PyObject *dict;    /* instance __dict__ for the Python subclass */
  /* Binding of plain positional calls (sejits._binding.Binder): calls with
   * n_required..n_positional arguments take the rest from tail_defaults (a
   * tuple; anything else sends every call to the slow path). */
  Py_ssize_t n_required, n_positional;
  PyObject *tail_defaults;
  /* The kernel's free names (sejits._capture.LiveNames): where each is read
   * at every call, a closure cell or (globals, name, builtins). Scalars are
   * passed after the arguments; keys add (type, value) to the signature. */
  PyObject *live_scalars, *live_keys;
  char last_call_native; /* whether the last call ran here, for explain() */
} Dispatcher;

extern PyTypeObject DispatcherType;
extern PyObject *FallbackRequested;
extern int host_fast_path; /* off while NumPy calls are meant for an OpenCL device */

int is_kernel(PyObject *object);
PyArray_Descr *kernel_result_dtype(Kernel *kernel); /* borrowed */
/* Calls the entry point on inputs[0..ninputs) and `out`; 0, or -1 with an exception set. */
int run_kernel(Kernel *kernel, PyObject *const *inputs, Py_ssize_t ninputs, PyArrayObject *out);
/* A C-contiguous array like numpy.empty (steals `descr`); large ones from the buffer pool. */
PyObject *allocate_array(int rank, npy_intp *dims, PyArray_Descr *descr);

/* A plain positional call's kernel arguments (the given ones, defaults, the
 * scalar free names' values, new references in `held`): their count, or -1
 * when the slow path must bind. */
Py_ssize_t bind_call(Dispatcher *self, PyObject *args, PyObject **items, PyObject **held, Py_ssize_t *nheld);
/* The signature of the bound arguments, `options`, then the key free names;
 * NULL (no exception) for the slow path. */
PyObject *fast_signature(Dispatcher *self, PyObject **items, Py_ssize_t total, PyObject *const *options,
                         Py_ssize_t noptions);
int Dispatcher_traverse(Dispatcher *self, visitproc visit, void *arg);
int Dispatcher_clear(Dispatcher *self);

/* Adds the StencilDispatcher base type (_native_stencil.c); 0, or -1. */
int sejits_stencil_init(PyObject *module);

/* Adds the values the daemon and the client share (_native_tables.c); 0, or -1. */
int sejits_tables_init(PyObject *module);

#endif
