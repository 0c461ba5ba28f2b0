/* What _native.c and the OpenCL runtime (_opencl*.c) share. The OpenCL part
 * is compiled into sejits._native; without OpenCL headers it still builds and
 * every OpenCL function raises RuntimeError. */
#ifndef SEJITS_CLIENT_OPENCL_H
#define SEJITS_CLIENT_OPENCL_H

#include <Python.h>

#include "sejits/kernel_abi.h"

/* Adds opencl_devices(), Device and DeviceBuffer to the module. Returns 0, or
 * -1 with an exception set. */
int sejits_opencl_init(PyObject *module);

/* Kernel.call_device(device, inputs, out): runs an OpenCL entry point on
 * device arrays. `nargs` and `scalar_codes` are the Kernel's (inputs and out). */
PyObject *sejits_opencl_call_device(sejits_entry_fn entry, Py_ssize_t nargs, const int32_t *scalar_codes,
                                    PyObject *call_args);

/* Lent by _native.c, so that device calls convert scalars and kernel errors
 * exactly as host calls do. */
int describe_scalar(PyObject *value, int32_t code, sejits_arg *arg);
void raise_kernel_error(const char *message);

#endif /* SEJITS_CLIENT_OPENCL_H */
