/* The OpenCL ICD loader, opened with dlopen at first use rather than linked:
 * an install without OpenCL still imports sejits. Internal to _opencl*.c. */
#ifndef SEJITS_CLIENT_OPENCL_LOADER_H
#define SEJITS_CLIENT_OPENCL_LOADER_H

#if SEJITS_HAVE_OPENCL_HEADERS
#include <Python.h>

#include <CL/cl.h>

#ifndef CL_PLATFORM_NOT_FOUND_KHR
#define CL_PLATFORM_NOT_FOUND_KHR -1001 /* cl_khr_icd: the loader found no platform */
#endif

/* Every OpenCL function the client calls; each is looked up with dlsym. */
#define SEJITS_OPENCL_FUNCTIONS(X) \
  X(clGetPlatformIDs)              \
  X(clGetPlatformInfo)             \
  X(clGetDeviceIDs)                \
  X(clGetDeviceInfo)               \
  X(clCreateContext)               \
  X(clCreateCommandQueue)          \
  X(clReleaseContext)              \
  X(clCreateBuffer)                \
  X(clReleaseMemObject)            \
  X(clEnqueueWriteBuffer)          \
  X(clEnqueueReadBuffer)           \
  X(clEnqueueCopyBuffer)           \
  X(clEnqueueFillBuffer)           \
  X(clFinish)

typedef struct {
#define SEJITS_OPENCL_POINTER(name) __typeof__(name) *name;
  SEJITS_OPENCL_FUNCTIONS(SEJITS_OPENCL_POINTER)
#undef SEJITS_OPENCL_POINTER
} opencl_api;

/* Valid once opencl_load() has returned 0: opencl.clFinish(queue), ... */
extern opencl_api opencl;

/* Opens the ICD loader and resolves every function, once. Returns 0, or -1
 * with a RuntimeError that names the missing library or function. */
int opencl_load(void);

/* Raises RuntimeError("<function> failed: <CL_ERROR_NAME>") and returns NULL. */
PyObject *raise_opencl_error(const char *function, cl_int code);

#endif /* SEJITS_HAVE_OPENCL_HEADERS */
#endif /* SEJITS_CLIENT_OPENCL_LOADER_H */
