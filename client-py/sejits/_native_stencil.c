/* sejits._native.StencilDispatcher: the hot path of a relative-index stencil
 * (sejits._stencil), as Dispatcher's is that of an element-wise kernel. A
 * repeat call, `kernel(grid, ...)` or `kernel(grid, ..., out=array)`, and a
 * repeat `kernel.iterate(grid, ..., steps=n)` whose signature maps to a
 * loaded CPU kernel run here without Python. Anything else (a miss, device
 * arrays, a compile in progress, a tuning session, an `out` that overlaps an
 * input or needs checking, other keywords, a kernel that asks for Python)
 * goes to the Python methods `_call_slow` and `_iterate_slow`, which compute
 * the same and raise the errors. */
#include "_native.h"

#include <structmember.h>

#include "sejits/kernel_abi.h"

typedef struct {
  Dispatcher base;
  /* (boundary, cval, neighborhood): in the signature after the arguments'
   * elements and the grid's rank, as StencilDispatcher._signature puts them. */
  PyObject *signature_options;
  /* signature -> the artifact's iterate entry point, None where it has none
   * (sweep by sweep), or something only Python runs (a tuning session). */
  PyObject *iterate_kernels;
  char skip_border;        /* boundary "skip": the kernel leaves the border as it was */
  char last_call_iterated; /* the last native call ran the iterate entry point */
} StencilDispatcher;

static PyObject *call_slow_name, *iterate_slow_name, *out_name, *steps_name;

#define MAX_OPTIONS 8

/* One call's bound arguments and its kernel (borrowed from the map). */
typedef struct {
  PyObject *items[MAX_ARGS + 2]; /* the kernel's inputs, the grid first; room for iterate's spare and steps */
  PyObject *held[MAX_ARGS];      /* the free names' values, released by release_call */
  Py_ssize_t n, nheld;
  PyObject *signature;
  PyArrayObject *grid;
  Kernel *kernel;
} StencilCall;

static PyObject *call_python(StencilDispatcher *self, PyObject *name, PyObject *args, PyObject *kwargs) {
  self->base.last_call_native = 0;
  PyObject *method = PyObject_GetAttr((PyObject *)self, name);
  if (!method) return NULL;
  PyObject *result = PyObject_Call(method, args, kwargs);
  Py_DECREF(method);
  return result;
}

static void release_call(StencilCall *call) {
  Py_CLEAR(call->signature);
  for (Py_ssize_t k = 0; k < call->nheld; ++k) Py_DECREF(call->held[k]);
  call->nheld = 0;
}

static int same_shape(PyArrayObject *a, PyArrayObject *b) {
  return PyArray_NDIM(a) == PyArray_NDIM(b) && PyArray_CompareLists(PyArray_SHAPE(a), PyArray_SHAPE(b), PyArray_NDIM(a));
}

/* sejits._capture._content_key, imported on first use. */
static PyObject *content_key_function;

/* The key free names' elements of a fresh `signature` (its last 2 * nkeys
 * items, (type, value) each) as sejits._capture.key_elements builds them: a
 * small array, list or tuple of numbers (stencil weights) is keyed by its
 * contents, so a repeat call with weights stays on the fast path. 0, or -1
 * with an exception. */
static int key_by_contents(StencilDispatcher *self, PyObject *signature) {
  PyObject *keys = self->base.live_keys;
  Py_ssize_t nkeys = keys && PyTuple_Check(keys) ? PyTuple_GET_SIZE(keys) : 0;
  Py_ssize_t first = PyTuple_GET_SIZE(signature) - 2 * nkeys;
  for (Py_ssize_t k = 0; k < nkeys; ++k) {
    PyObject *value = PyTuple_GET_ITEM(signature, first + 2 * k + 1);
    if (!PyArray_Check(value) && !PyList_Check(value) && !PyTuple_Check(value)) continue;
    if (!content_key_function) {
      PyObject *module = PyImport_ImportModule("sejits._capture");
      if (!module) return -1;
      content_key_function = PyObject_GetAttrString(module, "_content_key");
      Py_DECREF(module);
      if (!content_key_function) return -1;
    }
    PyObject *content = PyObject_CallOneArg(content_key_function, value);
    if (!content) return -1;
    if (content == Py_None) {
      Py_DECREF(content);
      continue;
    }
    /* The tuple is new and not yet shared or hashed: its items may be replaced. */
    PyObject *old_type = PyTuple_GET_ITEM(signature, first + 2 * k);
    Py_INCREF(Py_TYPE(content));
    PyTuple_SET_ITEM(signature, first + 2 * k, (PyObject *)Py_TYPE(content));
    PyTuple_SET_ITEM(signature, first + 2 * k + 1, content);
    Py_DECREF(old_type);
    Py_DECREF(value);
  }
  return 0;
}

/* Binds a plain positional call and finds its loaded kernel: 0, or -1 (no
 * exception) for the slow path. The caller releases `call` either way. */
static int find_kernel(StencilDispatcher *self, PyObject *args, StencilCall *call) {
  call->signature = NULL;
  call->nheld = 0;
  PyObject *options = self->signature_options;
  if (!host_fast_path || !self->base.kernels || !PyDict_Check(self->base.kernels) || !options ||
      !PyTuple_Check(options) || PyTuple_GET_SIZE(options) >= MAX_OPTIONS)
    return -1;
  call->n = bind_call(&self->base, args, call->items, call->held, &call->nheld);
  if (call->n < 1 || !PyArray_CheckExact(call->items[0])) return -1;
  call->grid = (PyArrayObject *)call->items[0];
  int rank = PyArray_NDIM(call->grid);
  if (rank == 0 || rank > SEJITS_MAX_RANK) return -1; /* refused, or normalized, there */
  for (Py_ssize_t k = 0; k < call->n; ++k) {
    if (!PyArray_CheckExact(call->items[k])) continue;
    PyArrayObject *array = (PyArrayObject *)call->items[k];
    if (!PyArray_ISNBO(PyArray_DESCR(array)->byteorder) || !same_shape(array, call->grid)) return -1;
  }
  PyObject *elements[MAX_OPTIONS];
  Py_ssize_t noptions = PyTuple_GET_SIZE(options);
  elements[0] = PyLong_FromLong(rank);
  if (!elements[0]) {
    PyErr_Clear();
    return -1;
  }
  for (Py_ssize_t k = 0; k < noptions; ++k) elements[1 + k] = PyTuple_GET_ITEM(options, k);
  call->signature = fast_signature(&self->base, call->items, call->n, elements, 1 + noptions);
  Py_DECREF(elements[0]);
  if (!call->signature || key_by_contents(self, call->signature) != 0) {
    PyErr_Clear();
    return -1;
  }
  PyObject *kernel = PyDict_GetItemWithError(self->base.kernels, call->signature);
  if (!kernel || !is_kernel(kernel)) {
    PyErr_Clear(); /* an unhashable free name's value: the slow path keys it by identity */
    return -1;
  }
  call->kernel = (Kernel *)kernel;
  return 0;
}

/* The bytes an array's elements span, [*low, *high); empty for no elements. */
static void memory_extent(PyArrayObject *array, char **low, char **high) {
  char *start = PyArray_BYTES(array), *end = start + PyArray_ITEMSIZE(array);
  for (int d = 0; d < PyArray_NDIM(array); ++d) {
    npy_intp n = PyArray_DIM(array, d), span = PyArray_STRIDE(array, d) * (n - 1);
    if (n == 0) {
      *low = *high = start;
      return;
    }
    if (span < 0) start += span;
    else end += span;
  }
  *low = start;
  *high = end;
}

/* Whether two arrays' memory may overlap, as numpy.may_share_memory. */
static int may_overlap(PyArrayObject *a, PyArrayObject *b) {
  char *a_low, *a_high, *b_low, *b_high;
  memory_extent(a, &a_low, &a_high);
  memory_extent(b, &b_low, &b_high);
  return a_low < a_high && b_low < b_high && a_low < b_high && b_low < a_high;
}

/* An `out` the kernel writes as it is: a plain writable array of the grid's
 * shape and the kernel's dtype, sharing no memory with an input. Any other
 * is checked (and refused, or computed into a copy) by the slow path. */
static int writes_into(StencilCall *call, PyObject *out) {
  if (!PyArray_CheckExact(out)) return 0;
  PyArrayObject *array = (PyArrayObject *)out;
  PyArray_Descr *dtype = PyArray_DESCR(array);
  if (!same_shape(array, call->grid) || dtype->type_num != kernel_result_dtype(call->kernel)->type_num ||
      !PyArray_ISNBO(dtype->byteorder) || !PyArray_ISWRITEABLE(array))
    return 0;
  for (Py_ssize_t k = 0; k < call->n; ++k) {
    if (PyArray_CheckExact(call->items[k]) && may_overlap((PyArrayObject *)call->items[k], array)) return 0;
  }
  return 1;
}

/* The kernel on the call's inputs into `out` (a new reference: the result),
 * or NULL with an exception set. */
static PyObject *sweep_into(StencilCall *call, Kernel *kernel, PyObject *out) {
  if (!out) return NULL;
  if (run_kernel(kernel, call->items, call->n, (PyArrayObject *)out) != 0) {
    Py_DECREF(out);
    return NULL;
  }
  return out;
}

static PyObject *StencilDispatcher_call(StencilDispatcher *self, PyObject *args, PyObject *kwargs) {
  PyObject *out = NULL, *result = NULL;
  StencilCall call;
  call.signature = NULL;
  call.nheld = 0;
  if (kwargs && PyDict_GET_SIZE(kwargs) != 0) {
    if (PyDict_GET_SIZE(kwargs) != 1 || !(out = PyDict_GetItemWithError(kwargs, out_name))) goto slow;
    if (out == Py_None) out = NULL;
  }
  if (find_kernel(self, args, &call) != 0) goto slow;
  Kernel *kernel = call.kernel;
  Py_INCREF(kernel); /* the map may change while the GIL is released */
  if (out) {
    if (!writes_into(&call, out)) {
      Py_DECREF(kernel);
      goto slow;
    }
    Py_INCREF(out);
  } else {
    PyArray_Descr *dtype = kernel_result_dtype(kernel);
    Py_INCREF(dtype);
    /* Zeros: "skip" leaves the border as it is. */
    out = PyArray_Zeros(PyArray_NDIM(call.grid), PyArray_SHAPE(call.grid), dtype, 0);
  }
  result = sweep_into(&call, kernel, out);
  Py_DECREF(kernel);
  if (!result) {
    if (PyErr_ExceptionMatches(FallbackRequested)) goto slow; /* which runs the Python code */
    goto done;
  }
  self->base.last_call_native = 1;
  self->last_call_iterated = 0;
  goto done;
slow:
  PyErr_Clear();
  result = call_python(self, call_slow_name, args, kwargs);
done:
  release_call(&call);
  return result;
}

static PyObject *new_like_grid(StencilCall *call, Kernel *kernel) {
  PyArray_Descr *dtype = kernel_result_dtype(kernel);
  Py_INCREF(dtype);
  return allocate_array(PyArray_NDIM(call->grid), PyArray_SHAPE(call->grid), dtype);
}

/* `steps` sweeps in one call of the artifact's iterate entry point, which
 * takes the inputs, a spare buffer, steps, the output. */
static PyObject *iterate_blocked(StencilCall *call, Kernel *blocked, PyObject *steps) {
  PyObject *out = new_like_grid(call, blocked), *spare = out ? new_like_grid(call, blocked) : NULL;
  if (!spare) {
    Py_XDECREF(out);
    return NULL;
  }
  call->items[call->n] = spare;
  call->items[call->n + 1] = steps;
  int rc = run_kernel(blocked, call->items, call->n + 2, (PyArrayObject *)out);
  Py_DECREF(spare);
  if (rc != 0) {
    Py_DECREF(out);
    return NULL;
  }
  return out;
}

/* `steps` single sweeps, ping-ponging between two buffers. */
static PyObject *iterate_sweeps(StencilDispatcher *self, StencilCall *call, Kernel *kernel, long long steps) {
  PyObject *current = new_like_grid(call, kernel), *spare = current ? new_like_grid(call, kernel) : NULL;
  if (!spare) {
    Py_XDECREF(current);
    return NULL;
  }
  PyObject *grid = call->items[0];
  int failed = 0;
  if (self->skip_border) { /* the border keeps the grid's values in every step */
    failed = PyArray_CopyInto((PyArrayObject *)current, call->grid) < 0 ||
             PyArray_CopyInto((PyArrayObject *)spare, call->grid) < 0;
  }
  failed = failed || run_kernel(kernel, call->items, call->n, (PyArrayObject *)current) != 0;
  for (long long step = 1; step < steps && !failed; ++step) {
    call->items[0] = current;
    failed = run_kernel(kernel, call->items, call->n, (PyArrayObject *)spare) != 0;
    PyObject *swept = spare;
    spare = current;
    current = swept;
  }
  call->items[0] = grid;
  Py_DECREF(spare);
  if (failed) Py_CLEAR(current);
  return current;
}

static PyObject *StencilDispatcher_iterate(StencilDispatcher *self, PyObject *args, PyObject *kwargs) {
  PyObject *result = NULL, *steps_object = NULL, *blocked = NULL;
  StencilCall call;
  call.signature = NULL;
  call.nheld = 0;
  if (!kwargs || PyDict_GET_SIZE(kwargs) != 1 || !(steps_object = PyDict_GetItemWithError(kwargs, steps_name)) ||
      !PyLong_CheckExact(steps_object))
    goto slow; /* which checks `steps` and binds keywords */
  long long steps = PyLong_AsLongLong(steps_object);
  if (steps < 1 || PyErr_Occurred()) goto slow;
  if (find_kernel(self, args, &call) != 0) goto slow;
  Kernel *kernel = call.kernel;
  /* Sweeps after the first would read the result's dtype: another kernel. */
  if (kernel_result_dtype(kernel)->type_num != PyArray_DESCR(call.grid)->type_num) goto slow;
  if (steps > 1) {
    if (!self->iterate_kernels || !PyDict_Check(self->iterate_kernels)) goto slow;
    blocked = PyDict_GetItemWithError(self->iterate_kernels, call.signature);
    if (!blocked) goto slow; /* not looked for yet: Python asks the artifact (and may tune) */
    if (blocked == Py_None) {
      blocked = NULL;
    } else if (!is_kernel(blocked)) {
      goto slow;
    }
  }
  /* Both may leave the maps while the GIL is released. */
  Py_INCREF(kernel);
  Py_XINCREF(blocked);
  result = blocked ? iterate_blocked(&call, (Kernel *)blocked, steps_object)
                   : iterate_sweeps(self, &call, kernel, steps);
  Py_DECREF(kernel);
  Py_XDECREF(blocked);
  if (!result) {
    if (PyErr_ExceptionMatches(FallbackRequested)) goto slow; /* which runs the Python code */
    goto done;
  }
  self->base.last_call_native = 1;
  self->last_call_iterated = blocked != NULL;
  goto done;
slow:
  PyErr_Clear();
  result = call_python(self, iterate_slow_name, args, kwargs);
done:
  release_call(&call);
  return result;
}

static int StencilDispatcher_traverse(StencilDispatcher *self, visitproc visit, void *arg) {
  Py_VISIT(self->signature_options);
  Py_VISIT(self->iterate_kernels);
  return Dispatcher_traverse(&self->base, visit, arg);
}

static int StencilDispatcher_clear(StencilDispatcher *self) {
  Py_CLEAR(self->signature_options);
  Py_CLEAR(self->iterate_kernels);
  return Dispatcher_clear(&self->base);
}

static void StencilDispatcher_dealloc(StencilDispatcher *self) {
  PyObject_GC_UnTrack(self);
  StencilDispatcher_clear(self);
  Py_TYPE(self)->tp_free((PyObject *)self);
}

static PyMemberDef StencilDispatcher_members[] = {
    {"_signature_options", T_OBJECT, offsetof(StencilDispatcher, signature_options), 0,
     "(boundary, cval, neighborhood) as the signature has them"},
    {"_iterate_kernels", T_OBJECT, offsetof(StencilDispatcher, iterate_kernels), 0,
     "signature -> the iterate entry point, or None"},
    {"_skip_border", T_BOOL, offsetof(StencilDispatcher, skip_border), 0, "whether the boundary is \"skip\""},
    {"_last_call_iterated", T_BOOL, offsetof(StencilDispatcher, last_call_iterated), 0,
     "whether the last native call ran the iterate entry point"},
    {NULL, 0, 0, 0, NULL}};

/* `kernel.iterate`: called, it is the method; it also has `explain(...)`
 * (`kernel.iterate.explain(grid, steps=n)`), which a bound built-in method
 * could not carry. */
typedef struct {
  PyObject_HEAD StencilDispatcher *owner;
} BoundIterate;

static PyObject *iterate_explain_name;

static PyObject *BoundIterate_call(BoundIterate *self, PyObject *args, PyObject *kwargs) {
  return StencilDispatcher_iterate(self->owner, args, kwargs);
}

static PyObject *BoundIterate_explain(BoundIterate *self, PyObject *args, PyObject *kwargs) {
  PyObject *method = PyObject_GetAttr((PyObject *)self->owner, iterate_explain_name);
  if (!method) return NULL;
  PyObject *result = PyObject_Call(method, args, kwargs);
  Py_DECREF(method);
  return result;
}

static PyObject *BoundIterate_self(BoundIterate *self, void *closure) {
  (void)closure;
  Py_INCREF(self->owner);
  return (PyObject *)self->owner;
}

static int BoundIterate_traverse(BoundIterate *self, visitproc visit, void *arg) {
  Py_VISIT(self->owner);
  return 0;
}

static void BoundIterate_dealloc(BoundIterate *self) {
  PyObject_GC_UnTrack(self);
  Py_CLEAR(self->owner);
  PyObject_GC_Del(self);
}

static PyMethodDef BoundIterate_methods[] = {
    {"explain", (PyCFunction)(void (*)(void))BoundIterate_explain, METH_VARARGS | METH_KEYWORDS,
     "explain(*args, steps, **kwargs)\n--\n\nThe kernel's explain() for these arguments, and how `steps` sweeps run."},
    {NULL, NULL, 0, NULL}};

static PyGetSetDef BoundIterate_getset[] = {{"__self__", (getter)BoundIterate_self, NULL, "the stencil", NULL},
                                            {NULL, NULL, NULL, NULL, NULL}};

static PyTypeObject BoundIterateType = {
    PyVarObject_HEAD_INIT(NULL, 0).tp_name = "sejits._native.StencilIterate",
    .tp_basicsize = sizeof(BoundIterate),
    .tp_dealloc = (destructor)BoundIterate_dealloc,
    .tp_call = (ternaryfunc)BoundIterate_call,
    .tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_GC,
    .tp_doc = "iterate(*args, steps, out=None, **kwargs)\n--\n\n`steps` sweeps, the result of each feeding the next as "
              "the grid (steps=0: a copy of the grid). Where the artifact has temporally blocked sweeps, they run in one "
              "call; otherwise two buffers are reused (ping-pong). Results are the same. `out=` receives the result.",
    .tp_traverse = (traverseproc)BoundIterate_traverse,
    .tp_methods = BoundIterate_methods,
    .tp_getset = BoundIterate_getset,
};

static PyObject *StencilDispatcher_get_iterate(StencilDispatcher *self, void *closure) {
  (void)closure;
  BoundIterate *bound = PyObject_GC_New(BoundIterate, &BoundIterateType);
  if (!bound) return NULL;
  Py_INCREF(self);
  bound->owner = self;
  PyObject_GC_Track(bound);
  return (PyObject *)bound;
}

static PyGetSetDef StencilDispatcher_getset[] = {
    {"iterate", (getter)StencilDispatcher_get_iterate, NULL, "kernel.iterate(*args, steps, out=None); kernel.iterate.explain(...)",
     NULL},
    {NULL, NULL, NULL, NULL, NULL}};

static PyTypeObject StencilDispatcherType = {
    PyVarObject_HEAD_INIT(NULL, 0).tp_name = "sejits._native.StencilDispatcher",
    .tp_basicsize = sizeof(StencilDispatcher),
    .tp_dealloc = (destructor)StencilDispatcher_dealloc,
    .tp_call = (ternaryfunc)StencilDispatcher_call,
    .tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_BASETYPE | Py_TPFLAGS_HAVE_GC,
    .tp_doc = "Base of the stencil dispatchers: the fast path of repeat calls and iterate().",
    .tp_traverse = (traverseproc)StencilDispatcher_traverse,
    .tp_clear = (inquiry)StencilDispatcher_clear,
    .tp_members = StencilDispatcher_members,
    .tp_getset = StencilDispatcher_getset,
    .tp_new = PyType_GenericNew,
};

int sejits_stencil_init(PyObject *module) {
  StencilDispatcherType.tp_base = &DispatcherType;
  if (PyType_Ready(&StencilDispatcherType) < 0 || PyType_Ready(&BoundIterateType) < 0) return -1;
  iterate_explain_name = PyUnicode_InternFromString("_iterate_explain");
  if (!iterate_explain_name) return -1;
  call_slow_name = PyUnicode_InternFromString("_call_slow");
  iterate_slow_name = PyUnicode_InternFromString("_iterate_slow");
  out_name = PyUnicode_InternFromString("out");
  steps_name = PyUnicode_InternFromString("steps");
  if (!call_slow_name || !iterate_slow_name || !out_name || !steps_name) return -1;
  Py_INCREF(&StencilDispatcherType);
  return PyModule_AddObject(module, "StencilDispatcher", (PyObject *)&StencilDispatcherType);
}
