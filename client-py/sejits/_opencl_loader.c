/* Opens the OpenCL ICD loader with dlopen and names OpenCL error codes. */
#if SEJITS_HAVE_OPENCL_HEADERS
#include "_opencl_loader.h"

#include <dlfcn.h>

opencl_api opencl;

static int loaded = 0;

int opencl_load(void) {
  if (loaded) return 0;
  /* The versioned name first: the bare .so is only in -dev packages. */
  void *library = dlopen("libOpenCL.so.1", RTLD_NOW | RTLD_LOCAL);
  if (!library) library = dlopen("libOpenCL.so", RTLD_NOW | RTLD_LOCAL);
  if (!library) {
    PyErr_SetString(PyExc_RuntimeError,
                    "no OpenCL ICD loader (libOpenCL.so.1) found: install ocl-icd-libopencl1 and a driver such as "
                    "pocl-opencl-icd");
    return -1;
  }
  opencl_api resolved;
#define SEJITS_OPENCL_RESOLVE(name)                                                                        \
  resolved.name = (__typeof__(name) *)dlsym(library, #name);                                               \
  if (!resolved.name) {                                                                                    \
    PyErr_SetString(PyExc_RuntimeError, "the OpenCL ICD loader (libOpenCL.so.1) has no " #name            \
                                        ": it is older than OpenCL 1.2; install a newer ocl-icd-libopencl1"); \
    return -1;                                                                                             \
  }
  SEJITS_OPENCL_FUNCTIONS(SEJITS_OPENCL_RESOLVE)
#undef SEJITS_OPENCL_RESOLVE
  /* The library stays open for the life of the process, as do contexts. */
  opencl = resolved;
  loaded = 1;
  return 0;
}

static const struct {
  cl_int code;
  const char *name;
} error_names[] = {
#define SEJITS_OPENCL_ERROR(code) {code, #code},
    SEJITS_OPENCL_ERROR(CL_DEVICE_NOT_FOUND)
    SEJITS_OPENCL_ERROR(CL_DEVICE_NOT_AVAILABLE)
    SEJITS_OPENCL_ERROR(CL_COMPILER_NOT_AVAILABLE)
    SEJITS_OPENCL_ERROR(CL_MEM_OBJECT_ALLOCATION_FAILURE)
    SEJITS_OPENCL_ERROR(CL_OUT_OF_RESOURCES)
    SEJITS_OPENCL_ERROR(CL_OUT_OF_HOST_MEMORY)
    SEJITS_OPENCL_ERROR(CL_MEM_COPY_OVERLAP)
    SEJITS_OPENCL_ERROR(CL_BUILD_PROGRAM_FAILURE)
    SEJITS_OPENCL_ERROR(CL_MISALIGNED_SUB_BUFFER_OFFSET)
    SEJITS_OPENCL_ERROR(CL_EXEC_STATUS_ERROR_FOR_EVENTS_IN_WAIT_LIST)
    SEJITS_OPENCL_ERROR(CL_INVALID_VALUE)
    SEJITS_OPENCL_ERROR(CL_INVALID_DEVICE_TYPE)
    SEJITS_OPENCL_ERROR(CL_INVALID_PLATFORM)
    SEJITS_OPENCL_ERROR(CL_INVALID_DEVICE)
    SEJITS_OPENCL_ERROR(CL_INVALID_CONTEXT)
    SEJITS_OPENCL_ERROR(CL_INVALID_QUEUE_PROPERTIES)
    SEJITS_OPENCL_ERROR(CL_INVALID_COMMAND_QUEUE)
    SEJITS_OPENCL_ERROR(CL_INVALID_HOST_PTR)
    SEJITS_OPENCL_ERROR(CL_INVALID_MEM_OBJECT)
    SEJITS_OPENCL_ERROR(CL_INVALID_EVENT_WAIT_LIST)
    SEJITS_OPENCL_ERROR(CL_INVALID_OPERATION)
    SEJITS_OPENCL_ERROR(CL_INVALID_BUFFER_SIZE)
    SEJITS_OPENCL_ERROR(CL_INVALID_PROPERTY)
    SEJITS_OPENCL_ERROR(CL_PLATFORM_NOT_FOUND_KHR)
#undef SEJITS_OPENCL_ERROR
};

PyObject *raise_opencl_error(const char *function, cl_int code) {
  for (size_t k = 0; k < sizeof error_names / sizeof error_names[0]; ++k) {
    if (error_names[k].code == code) {
      PyErr_Format(PyExc_RuntimeError, "%s failed: %s (%d)", function, error_names[k].name, (int)code);
      return NULL;
    }
  }
  PyErr_Format(PyExc_RuntimeError, "%s failed: OpenCL error %d", function, (int)code);
  return NULL;
}
#endif /* SEJITS_HAVE_OPENCL_HEADERS */
