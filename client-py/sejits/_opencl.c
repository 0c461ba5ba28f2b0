/* The OpenCL runtime of sejits._native: registers opencl_devices(), Device and
 * DeviceBuffer, and calls OpenCL entry points on device arrays
 * (Kernel.call_device). Built without OpenCL headers, the same names exist
 * and raise RuntimeError, so that `import sejits` works everywhere. */
#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include "_opencl.h"

#define NO_HEADERS_MESSAGE \
  "sejits was built without OpenCL headers (CL/cl.h); install opencl-headers and reinstall"

#if SEJITS_HAVE_OPENCL_HEADERS
#include "_opencl_device.h"

#define ERROR_BYTES 1024

/* Whether every element of the array lies inside its buffer: a kernel that
 * wrote past a cl_mem would corrupt other arrays, or the driver, silently. */
static int check_extent(const sejits_arg *arg, int64_t offset, DeviceBuffer *buffer, Py_ssize_t position) {
  int64_t low = offset, high;
  int overflow = __builtin_add_overflow(offset, sejits_dtype_itemsize(arg->dtype), &high);
  for (int d = 0; d < arg->rank; ++d) {
    if (arg->shape[d] == 0) return 0; /* no elements: nothing is touched */
    int64_t reach;
    overflow |= __builtin_mul_overflow(arg->shape[d] - 1, arg->strides[d], &reach);
    overflow |= reach < 0 ? __builtin_add_overflow(low, reach, &low) : __builtin_add_overflow(high, reach, &high);
  }
  if (!overflow && low >= 0 && high <= buffer->nbytes) return 0;
  PyErr_Format(PyExc_ValueError, "argument %zd reaches outside its %zd-byte device buffer", position, buffer->nbytes);
  return -1;
}

static int read_int64s(PyObject *tuple, int64_t *values) {
  for (Py_ssize_t d = 0; d < PyTuple_GET_SIZE(tuple); ++d) {
    values[d] = PyLong_AsLongLong(PyTuple_GET_ITEM(tuple, d));
    if (values[d] == -1 && PyErr_Occurred()) return -1;
  }
  return 0;
}

/* (DeviceBuffer, offset_bytes, shape, strides_bytes, dtype_code) -> a
 * SEJITS_ARG_DEVICE_ARRAY argument whose data points at *buffer. */
static int describe_device_array(OpenCLDevice *device, PyObject *value, Py_ssize_t position, sejits_arg *arg,
                                 sejits_device_buffer *buffer) {
  DeviceBuffer *owner;
  Py_ssize_t offset;
  PyObject *shape, *strides;
  int code;
  if (!PyTuple_Check(value) || PyTuple_GET_SIZE(value) != 5) {
    PyErr_Format(PyExc_TypeError,
                 "argument %zd must be a device array: (buffer, offset, shape, strides, dtype_code)", position);
    return -1;
  }
  if (!PyArg_ParseTuple(value, "O!nO!O!i", &DeviceBufferType, &owner, &offset, &PyTuple_Type, &shape, &PyTuple_Type,
                        &strides, &code))
    return -1;
  if (owner->device != device) {
    PyErr_SetString(PyExc_ValueError, "a device array from another OpenCL context");
    return -1;
  }
  Py_ssize_t rank = PyTuple_GET_SIZE(shape);
  if (rank > SEJITS_MAX_RANK || PyTuple_GET_SIZE(strides) != rank || sejits_dtype_itemsize(code) == 0) {
    PyErr_Format(PyExc_ValueError,
                 "argument %zd: rank %zd with %zd strides and dtype code %d (at most rank %d, one stride per axis, "
                 "a sejits dtype code)",
                 position, rank, PyTuple_GET_SIZE(strides), code, SEJITS_MAX_RANK);
    return -1;
  }
  arg->kind = SEJITS_ARG_DEVICE_ARRAY;
  arg->dtype = code;
  arg->rank = (int32_t)rank;
  arg->flags = 0;
  if (read_int64s(shape, arg->shape) != 0 || read_int64s(strides, arg->strides) != 0) return -1;
  for (Py_ssize_t d = 0; d < rank; ++d) {
    if (arg->shape[d] < 0) {
      PyErr_Format(PyExc_ValueError, "argument %zd has a negative extent", position);
      return -1;
    }
  }
  if (check_extent(arg, offset, owner, position) != 0) return -1;
  buffer->mem = owner->mem;
  buffer->offset = offset;
  arg->data = buffer;
  return 0;
}

/* Fills args[0..n) from the inputs and out, and args[n] with the device. */
static int describe_call(OpenCLDevice *device, PyObject *inputs, PyObject *out, const int32_t *scalar_codes,
                         Py_ssize_t n, sejits_arg *args, sejits_device_buffer *buffers) {
  for (Py_ssize_t k = 0; k < n; ++k) {
    PyObject *value = k < n - 1 ? PyTuple_GET_ITEM(inputs, k) : out;
    int rc = scalar_codes[k] == 0 ? describe_device_array(device, value, k, &args[k], &buffers[k])
                                  : describe_scalar(value, scalar_codes[k], &args[k]);
    if (rc != 0) return -1;
  }
  args[n].kind = SEJITS_ARG_DEVICE;
  args[n].data = &device->abi;
  return 0;
}

PyObject *sejits_opencl_call_device(sejits_entry_fn entry, Py_ssize_t nargs, const int32_t *scalar_codes,
                                    PyObject *call_args) {
  OpenCLDevice *device;
  PyObject *inputs, *out;
  if (!PyArg_ParseTuple(call_args, "O!O!O", &OpenCLDeviceType, &device, &PyTuple_Type, &inputs, &out)) return NULL;
  Py_ssize_t n = PyTuple_GET_SIZE(inputs) + 1; /* the inputs and out; the device comes last, at args[n] */
  if (n != nargs) {
    PyErr_Format(PyExc_TypeError, "kernel takes %zd arguments, got %zd", nargs - 1, n - 1);
    return NULL;
  }
  sejits_arg *args = PyMem_Calloc((size_t)n + 1, sizeof *args);
  sejits_device_buffer *buffers = PyMem_Calloc((size_t)n, sizeof *buffers);
  if (!args || !buffers) {
    PyMem_Free(args);
    PyMem_Free(buffers);
    return PyErr_NoMemory();
  }
  int32_t status = -1;
  char error[ERROR_BYTES];
  error[0] = '\0';
  if (describe_call(device, inputs, out, scalar_codes, n, args, buffers) == 0) {
    /* The entry point only enqueues, but building a program on first use can
     * take seconds: other threads run meanwhile. `inputs` keeps every buffer
     * alive until the call returns. */
    Py_BEGIN_ALLOW_THREADS
    status = entry(args, (int32_t)(n + 1), error, ERROR_BYTES);
    Py_END_ALLOW_THREADS
    if (status != 0) raise_kernel_error(error[0] ? error : "kernel failed");
  }
  PyMem_Free(args);
  PyMem_Free(buffers);
  if (status != 0) return NULL;
  Py_RETURN_NONE;
}

static PyMethodDef opencl_functions[] = {
    {"opencl_devices", opencl_devices, METH_NOARGS,
     "opencl_devices() -> [dict]: every OpenCL device, in platform then device order."},
    {NULL, NULL, 0, NULL}};

int sejits_opencl_init(PyObject *module) {
  if (PyType_Ready(&OpenCLDeviceType) < 0 || PyType_Ready(&DeviceBufferType) < 0) return -1;
  Py_INCREF(&OpenCLDeviceType);
  if (PyModule_AddObject(module, "Device", (PyObject *)&OpenCLDeviceType) < 0) return -1;
  Py_INCREF(&DeviceBufferType);
  if (PyModule_AddObject(module, "DeviceBuffer", (PyObject *)&DeviceBufferType) < 0) return -1;
  if (PyModule_AddIntConstant(module, "OPENCL_HEADERS", 1) < 0) return -1;
  return PyModule_AddFunctions(module, opencl_functions);
}

#else /* built without CL/cl.h */

static PyObject *raise_no_headers(void) {
  PyErr_SetString(PyExc_RuntimeError, NO_HEADERS_MESSAGE);
  return NULL;
}

static PyObject *opencl_devices(PyObject *module, PyObject *unused) { return raise_no_headers(); }

static PyObject *Device(PyObject *module, PyObject *args, PyObject *kwargs) { return raise_no_headers(); }

PyObject *sejits_opencl_call_device(sejits_entry_fn entry, Py_ssize_t nargs, const int32_t *scalar_codes,
                                    PyObject *call_args) {
  return raise_no_headers();
}

static PyMethodDef opencl_functions[] = {
    {"opencl_devices", opencl_devices, METH_NOARGS, "Raises RuntimeError: " NO_HEADERS_MESSAGE},
    {"Device", (PyCFunction)(void (*)(void))Device, METH_VARARGS | METH_KEYWORDS,
     "Raises RuntimeError: " NO_HEADERS_MESSAGE},
    {NULL, NULL, 0, NULL}};

int sejits_opencl_init(PyObject *module) {
  if (PyModule_AddIntConstant(module, "OPENCL_HEADERS", 0) < 0) return -1;
  return PyModule_AddFunctions(module, opencl_functions);
}

#endif /* SEJITS_HAVE_OPENCL_HEADERS */
