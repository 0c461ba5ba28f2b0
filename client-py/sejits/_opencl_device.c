/* Device (a context and in-order queue on one OpenCL device) and DeviceBuffer
 * (a cl_mem of it): allocation and blocking transfers for sejits.opencl. */
#if SEJITS_HAVE_OPENCL_HEADERS
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <structmember.h>

#include <stdlib.h>
#include <string.h>

#include "_opencl_device.h"

/* ---- DeviceBuffer ------------------------------------------------------- */

/* Buffers of at least this many bytes are kept for reuse when freed. */
#define POOL_MIN_BYTES ((size_t)1 << 20)

/* Drops entry k, keeping the others oldest first. */
static void pool_remove(OpenCLDevice *device, int k) {
  device->pool_total -= device->pool_bytes[k];
  --device->pool_count;
  memmove(&device->pool[k], &device->pool[k + 1], (size_t)(device->pool_count - k) * sizeof device->pool[0]);
  memmove(&device->pool_bytes[k], &device->pool_bytes[k + 1], (size_t)(device->pool_count - k) * sizeof device->pool_bytes[0]);
}

/* Takes a pooled buffer of exactly `nbytes`, or NULL. Reusing one while
 * kernels that used it are still queued is safe: the queue is in order. */
static cl_mem pool_take(OpenCLDevice *device, size_t nbytes) {
  for (int k = 0; k < device->pool_count; ++k) {
    if (device->pool_bytes[k] != nbytes) continue;
    cl_mem mem = device->pool[k];
    pool_remove(device, k);
    return mem;
  }
  return NULL;
}

/* Keeps a freed buffer for reuse, releasing the oldest pooled ones to make
 * room (buffers of earlier, other sizes must not crowd out the current
 * ones); returns 0 when it is not kept. */
static int pool_give(OpenCLDevice *device, cl_mem mem, size_t nbytes) {
  if (nbytes < POOL_MIN_BYTES || nbytes > device->pool_limit) return 0;
  while (device->pool_count == DEVICE_POOL_SLOTS || device->pool_total + nbytes > device->pool_limit) {
    opencl.clReleaseMemObject(device->pool[0]);
    pool_remove(device, 0);
  }
  device->pool[device->pool_count] = mem;
  device->pool_bytes[device->pool_count] = nbytes;
  ++device->pool_count;
  device->pool_total += nbytes;
  return 1;
}

static void pool_release(OpenCLDevice *device) {
  while (device->pool_count > 0) opencl.clReleaseMemObject(device->pool[--device->pool_count]);
  device->pool_total = 0;
}

static void DeviceBuffer_dealloc(DeviceBuffer *self) {
  /* Safe with kernels still queued: OpenCL keeps the memory until they end. */
  if (self->mem && !(self->device && pool_give(self->device, self->mem, (size_t)self->nbytes)))
    opencl.clReleaseMemObject(self->mem);
  Py_XDECREF(self->device);
  PyObject_Free(self);
}

static PyMemberDef DeviceBuffer_members[] = {
    {"nbytes", T_PYSSIZET, offsetof(DeviceBuffer, nbytes), READONLY, "size in bytes"},
    {"device", T_OBJECT, offsetof(DeviceBuffer, device), READONLY, "the Device whose context owns it"},
    {NULL, 0, 0, 0, NULL}};

PyTypeObject DeviceBufferType = {
    PyVarObject_HEAD_INIT(NULL, 0).tp_name = "sejits._native.DeviceBuffer",
    .tp_basicsize = sizeof(DeviceBuffer),
    .tp_dealloc = (destructor)DeviceBuffer_dealloc,
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_doc = "OpenCL device memory (a cl_mem), from Device.alloc(); released when unreferenced.",
    .tp_members = DeviceBuffer_members,
};

/* ---- Device --------------------------------------------------------------- */

static char *copy_string(const char *text) { return text ? strdup(text) : NULL; }

static PyObject *Device_new(PyTypeObject *type, PyObject *args, PyObject *kwargs) {
  static char *keywords[] = {"platform_index", "device_index", "binary_cache_dir", "device_key", NULL};
  int platform_index, device_index;
  const char *binary_cache_dir = NULL, *device_key = NULL;
  if (!PyArg_ParseTupleAndKeywords(args, kwargs, "ii|zz", keywords, &platform_index, &device_index,
                                   &binary_cache_dir, &device_key))
    return NULL;
  cl_platform_id platform;
  cl_device_id device;
  if (opencl_find_device(platform_index, device_index, &platform, &device) != 0) return NULL;
  cl_context_properties properties[] = {CL_CONTEXT_PLATFORM, (cl_context_properties)platform, 0};
  cl_int status;
  cl_context context = opencl.clCreateContext(properties, 1, &device, NULL, NULL, &status);
  if (status != CL_SUCCESS) return raise_opencl_error("clCreateContext", status);
  cl_command_queue queue = opencl.clCreateCommandQueue(context, device, 0, &status);
  if (status != CL_SUCCESS) {
    opencl.clReleaseContext(context);
    return raise_opencl_error("clCreateCommandQueue", status);
  }
  OpenCLDevice *self = (OpenCLDevice *)type->tp_alloc(type, 0);
  if (!self) return NULL; /* the context leaks, as every context does (see Device_dealloc) */
  self->abi.platform = platform;
  self->abi.device = device;
  self->abi.context = context;
  self->abi.queue = queue;
  self->abi.binary_cache_dir = copy_string(binary_cache_dir);
  self->abi.device_key = copy_string(device_key);
  cl_ulong memory = 0;
  opencl.clGetDeviceInfo(device, CL_DEVICE_GLOBAL_MEM_SIZE, sizeof memory, &memory, NULL);
  self->pool_limit = (size_t)(memory / 4);  /* pooled buffers hold at most a quarter of the device */
  if ((binary_cache_dir && !self->abi.binary_cache_dir) || (device_key && !self->abi.device_key)) {
    Py_DECREF(self);
    return PyErr_NoMemory();
  }
  return (PyObject *)self;
}

static void Device_dealloc(OpenCLDevice *self) {
  /* The context and queue are not released: kernel_abi.h promises they live
   * until exit, and artifacts keep programs built for a context by its
   * address, which a released context could pass on to a new one. */
  free((char *)self->abi.binary_cache_dir);
  free((char *)self->abi.device_key);
  Py_TYPE(self)->tp_free((PyObject *)self);
}

static cl_command_queue queue_of(OpenCLDevice *self) { return (cl_command_queue)self->abi.queue; }

static int check_owner(OpenCLDevice *self, DeviceBuffer *buffer) {
  if (buffer->device == self) return 0;
  PyErr_SetString(PyExc_ValueError, "a device array from another OpenCL context");
  return -1;
}

static int check_range(DeviceBuffer *buffer, Py_ssize_t offset, Py_ssize_t nbytes) {
  if (offset >= 0 && nbytes >= 0 && offset <= buffer->nbytes && nbytes <= buffer->nbytes - offset) return 0;
  PyErr_Format(PyExc_ValueError, "bytes [%zd, %zd + %zd) are outside the %zd-byte device buffer", offset, offset,
               nbytes, buffer->nbytes);
  return -1;
}

/* alloc(nbytes) -> DeviceBuffer */
static PyObject *Device_alloc(OpenCLDevice *self, PyObject *args) {
  Py_ssize_t nbytes;
  if (!PyArg_ParseTuple(args, "n", &nbytes)) return NULL;
  if (nbytes < 0) {
    PyErr_SetString(PyExc_ValueError, "negative buffer size");
    return NULL;
  }
  DeviceBuffer *buffer = PyObject_New(DeviceBuffer, &DeviceBufferType);
  if (!buffer) return NULL;
  Py_INCREF(self);
  buffer->device = self;
  buffer->nbytes = nbytes;
  cl_int status = CL_SUCCESS;
  buffer->mem = pool_take(self, (size_t)nbytes);
  /* OpenCL refuses empty buffers; an empty array still needs a cl_mem to pass. */
  for (int attempt = 0; !buffer->mem && attempt < 2; ++attempt) {
    if (attempt == 1) {
      if (self->pool_count == 0) break;
      pool_release(self);  /* the pool's buffers may be what the device is short of */
    }
    Py_BEGIN_ALLOW_THREADS
    buffer->mem = opencl.clCreateBuffer((cl_context)self->abi.context, CL_MEM_READ_WRITE, nbytes ? (size_t)nbytes : 1,
                                        NULL, &status);
    Py_END_ALLOW_THREADS
  }
  if (status != CL_SUCCESS) {
    buffer->mem = NULL;
    Py_DECREF(buffer);
    return raise_opencl_error("clCreateBuffer", status);
  }
  return (PyObject *)buffer;
}

/* A blocking copy between a buffer and a C-contiguous host array (writable
 * when reading into it): write(buffer, offset, array), read(buffer, offset, array). */
static PyObject *transfer(OpenCLDevice *self, PyObject *args, int to_device) {
  DeviceBuffer *buffer;
  Py_ssize_t offset;
  PyObject *host;
  if (!PyArg_ParseTuple(args, "O!nO", &DeviceBufferType, &buffer, &offset, &host)) return NULL;
  Py_buffer view;
  int flags = to_device ? PyBUF_C_CONTIGUOUS : PyBUF_C_CONTIGUOUS | PyBUF_WRITABLE;
  if (check_owner(self, buffer) != 0 || PyObject_GetBuffer(host, &view, flags) != 0) return NULL;
  cl_int status = CL_SUCCESS;
  if (check_range(buffer, offset, view.len) != 0) {
    PyBuffer_Release(&view);
    return NULL;
  }
  if (view.len > 0) {
    Py_BEGIN_ALLOW_THREADS
    status = to_device ? opencl.clEnqueueWriteBuffer(queue_of(self), buffer->mem, CL_TRUE, (size_t)offset, (size_t)view.len,
                                                     view.buf, 0, NULL, NULL)
                       : opencl.clEnqueueReadBuffer(queue_of(self), buffer->mem, CL_TRUE, (size_t)offset, (size_t)view.len,
                                                    view.buf, 0, NULL, NULL);
    Py_END_ALLOW_THREADS
  }
  PyBuffer_Release(&view);
  if (status != CL_SUCCESS) return raise_opencl_error(to_device ? "clEnqueueWriteBuffer" : "clEnqueueReadBuffer", status);
  Py_RETURN_NONE;
}

static PyObject *Device_write(OpenCLDevice *self, PyObject *args) { return transfer(self, args, 1); }
static PyObject *Device_read(OpenCLDevice *self, PyObject *args) { return transfer(self, args, 0); }

/* copy(src, src_offset, dst, dst_offset, nbytes): enqueued, not waited for. */
static PyObject *Device_copy(OpenCLDevice *self, PyObject *args) {
  DeviceBuffer *source, *target;
  Py_ssize_t source_offset, target_offset, nbytes;
  if (!PyArg_ParseTuple(args, "O!nO!nn", &DeviceBufferType, &source, &source_offset, &DeviceBufferType, &target,
                        &target_offset, &nbytes))
    return NULL;
  if (check_owner(self, source) != 0 || check_owner(self, target) != 0 ||
      check_range(source, source_offset, nbytes) != 0 || check_range(target, target_offset, nbytes) != 0)
    return NULL;
  if (source == target && source_offset < target_offset + nbytes && target_offset < source_offset + nbytes) {
    PyErr_SetString(PyExc_ValueError, "copy between overlapping ranges of one device buffer");
    return NULL;
  }
  if (nbytes == 0) Py_RETURN_NONE;
  cl_int status;
  Py_BEGIN_ALLOW_THREADS
  status = opencl.clEnqueueCopyBuffer(queue_of(self), source->mem, target->mem, (size_t)source_offset,
                                      (size_t)target_offset, (size_t)nbytes, 0, NULL, NULL);
  Py_END_ALLOW_THREADS
  if (status != CL_SUCCESS) return raise_opencl_error("clEnqueueCopyBuffer", status);
  Py_RETURN_NONE;
}

/* fill(buffer, offset, nbytes, pattern): repeats `pattern` over the range;
 * enqueued, not waited for. */
static PyObject *Device_fill(OpenCLDevice *self, PyObject *args) {
  DeviceBuffer *buffer;
  Py_ssize_t offset, nbytes;
  Py_buffer pattern;
  if (!PyArg_ParseTuple(args, "O!nny*", &DeviceBufferType, &buffer, &offset, &nbytes, &pattern)) return NULL;
  cl_int status = CL_SUCCESS;
  Py_ssize_t size = pattern.len;
  if (check_owner(self, buffer) != 0 || check_range(buffer, offset, nbytes) != 0) goto failed;
  /* The sizes clEnqueueFillBuffer accepts; offset and length must be multiples. */
  if (size < 1 || size > 128 || (size & (size - 1)) != 0 || offset % size != 0 || nbytes % size != 0) {
    PyErr_Format(PyExc_ValueError,
                 "fill pattern of %zd bytes: it must be 1, 2, 4, ... or 128 bytes and divide offset %zd and "
                 "length %zd",
                 size, offset, nbytes);
    goto failed;
  }
  if (nbytes > 0) {
    Py_BEGIN_ALLOW_THREADS
    status = opencl.clEnqueueFillBuffer(queue_of(self), buffer->mem, pattern.buf, (size_t)size, (size_t)offset,
                                        (size_t)nbytes, 0, NULL, NULL);
    Py_END_ALLOW_THREADS
  }
  PyBuffer_Release(&pattern);
  if (status != CL_SUCCESS) return raise_opencl_error("clEnqueueFillBuffer", status);
  Py_RETURN_NONE;
failed:
  PyBuffer_Release(&pattern);
  return NULL;
}

/* finish(): waits for everything enqueued on the queue. */
static PyObject *Device_finish(OpenCLDevice *self, PyObject *unused) {
  cl_int status;
  Py_BEGIN_ALLOW_THREADS
  status = opencl.clFinish(queue_of(self));
  Py_END_ALLOW_THREADS
  if (status != CL_SUCCESS) return raise_opencl_error("clFinish", status);
  Py_RETURN_NONE;
}

static PyObject *optional_string(const char *text) {
  if (text) return PyUnicode_FromString(text);
  Py_RETURN_NONE;
}

static PyObject *Device_get_binary_cache_dir(OpenCLDevice *self, void *closure) {
  return optional_string(self->abi.binary_cache_dir);
}

static PyObject *Device_get_device_key(OpenCLDevice *self, void *closure) {
  return optional_string(self->abi.device_key);
}

static PyGetSetDef Device_getset[] = {
    {"binary_cache_dir", (getter)Device_get_binary_cache_dir, NULL, "where kernels keep built programs", NULL},
    {"device_key", (getter)Device_get_device_key, NULL, "platform, device and driver: part of a program's key", NULL},
    {NULL, NULL, NULL, NULL, NULL}};

static PyMethodDef Device_methods[] = {
    {"alloc", (PyCFunction)Device_alloc, METH_VARARGS, "alloc(nbytes) -> DeviceBuffer (read-write)."},
    {"write", (PyCFunction)Device_write, METH_VARARGS,
     "write(buffer, offset, array): blocking copy of a C-contiguous array to buffer[offset:]."},
    {"read", (PyCFunction)Device_read, METH_VARARGS,
     "read(buffer, offset, array): blocking copy of buffer[offset:] into a C-contiguous writable array."},
    {"copy", (PyCFunction)Device_copy, METH_VARARGS,
     "copy(src, src_offset, dst, dst_offset, nbytes): device-to-device copy, enqueued."},
    {"fill", (PyCFunction)Device_fill, METH_VARARGS,
     "fill(buffer, offset, nbytes, pattern): repeats the pattern bytes (1, 2, 4, ... 128 of them), enqueued."},
    {"finish", (PyCFunction)Device_finish, METH_NOARGS, "finish(): waits for the queue to drain."},
    {NULL, NULL, 0, NULL}};

PyTypeObject OpenCLDeviceType = {
    PyVarObject_HEAD_INIT(NULL, 0).tp_name = "sejits._native.Device",
    .tp_basicsize = sizeof(OpenCLDevice),
    .tp_dealloc = (destructor)Device_dealloc,
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_doc = "Device(platform_index, device_index, binary_cache_dir, device_key): a context and in-order queue "
              "on one OpenCL device; both live until the process exits.",
    .tp_methods = Device_methods,
    .tp_getset = Device_getset,
    .tp_new = Device_new,
};
#endif /* SEJITS_HAVE_OPENCL_HEADERS */
