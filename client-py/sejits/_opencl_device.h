/* OpenCL devices as Python sees them: the listing, and the Device and
 * DeviceBuffer types. Internal to _opencl*.c. */
#ifndef SEJITS_CLIENT_OPENCL_DEVICE_H
#define SEJITS_CLIENT_OPENCL_DEVICE_H

#if SEJITS_HAVE_OPENCL_HEADERS
#include "_opencl_loader.h"
#include "sejits/kernel_abi.h"

#define DEVICE_POOL_SLOTS 8

/* One context and in-order queue on one device. `abi` is what generated
 * entry points receive as their trailing SEJITS_ARG_DEVICE argument. Freed
 * large buffers wait in `pool` for an allocation of the same size: creating
 * a buffer costs the device a fresh mapping of its pages on first use, as
 * much as a whole sweep of a large stencil. */
typedef struct {
  PyObject_HEAD
  sejits_device abi;
  cl_mem pool[DEVICE_POOL_SLOTS];
  size_t pool_bytes[DEVICE_POOL_SLOTS];
  int pool_count;
  size_t pool_total, pool_limit;
} OpenCLDevice;

/* A cl_mem of one Device, released when the last reference goes. */
typedef struct {
  PyObject_HEAD
  OpenCLDevice *device; /* keeps the queue the buffer is used on alive */
  cl_mem mem;
  Py_ssize_t nbytes;
} DeviceBuffer;

extern PyTypeObject OpenCLDeviceType;
extern PyTypeObject DeviceBufferType;

/* opencl_devices() -> [dict]: every device of every platform, in order. */
PyObject *opencl_devices(PyObject *module, PyObject *unused);

/* The platform_index-th platform and its device_index-th device, in the order
 * opencl_devices() lists them. Returns 0, or -1 with an exception set. */
int opencl_find_device(int platform_index, int device_index, cl_platform_id *platform, cl_device_id *device);

#endif /* SEJITS_HAVE_OPENCL_HEADERS */
#endif /* SEJITS_CLIENT_OPENCL_DEVICE_H */
