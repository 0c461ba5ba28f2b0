/* Lists OpenCL platforms and devices (opencl_devices) and finds one by its
 * position in that list (for Device). */
#if SEJITS_HAVE_OPENCL_HEADERS
#include "_opencl_device.h"

#include <string.h>

/* *platforms is PyMem_Malloc'ed (free it); none at all is not an error. */
static int list_platforms(cl_platform_id **platforms, cl_uint *count) {
  *platforms = NULL;
  *count = 0;
  if (opencl_load() != 0) return -1;
  cl_int status = opencl.clGetPlatformIDs(0, NULL, count);
  if (status == CL_PLATFORM_NOT_FOUND_KHR || (status == CL_SUCCESS && *count == 0)) {
    *count = 0;
    return 0;
  }
  if (status != CL_SUCCESS) return raise_opencl_error("clGetPlatformIDs", status), -1;
  *platforms = PyMem_Malloc(sizeof(cl_platform_id) * *count);
  if (!*platforms) return PyErr_NoMemory(), -1;
  status = opencl.clGetPlatformIDs(*count, *platforms, NULL);
  if (status != CL_SUCCESS) {
    PyMem_Free(*platforms);
    *platforms = NULL;
    return raise_opencl_error("clGetPlatformIDs", status), -1;
  }
  return 0;
}

/* *devices is PyMem_Malloc'ed (free it); a platform without devices is not an error. */
static int list_devices(cl_platform_id platform, cl_device_id **devices, cl_uint *count) {
  *devices = NULL;
  *count = 0;
  cl_int status = opencl.clGetDeviceIDs(platform, CL_DEVICE_TYPE_ALL, 0, NULL, count);
  if (status == CL_DEVICE_NOT_FOUND || (status == CL_SUCCESS && *count == 0)) {
    *count = 0;
    return 0;
  }
  if (status != CL_SUCCESS) return raise_opencl_error("clGetDeviceIDs", status), -1;
  *devices = PyMem_Malloc(sizeof(cl_device_id) * *count);
  if (!*devices) return PyErr_NoMemory(), -1;
  status = opencl.clGetDeviceIDs(platform, CL_DEVICE_TYPE_ALL, *count, *devices, NULL);
  if (status != CL_SUCCESS) {
    PyMem_Free(*devices);
    *devices = NULL;
    return raise_opencl_error("clGetDeviceIDs", status), -1;
  }
  return 0;
}

int opencl_find_device(int platform_index, int device_index, cl_platform_id *platform, cl_device_id *device) {
  cl_platform_id *platforms;
  cl_uint platform_count;
  if (list_platforms(&platforms, &platform_count) != 0) return -1;
  if (platform_index < 0 || (cl_uint)platform_index >= platform_count) {
    PyMem_Free(platforms);
    PyErr_Format(PyExc_ValueError, "no OpenCL platform %d (there are %u)", platform_index, platform_count);
    return -1;
  }
  *platform = platforms[platform_index];
  PyMem_Free(platforms);
  cl_device_id *devices;
  cl_uint device_count;
  if (list_devices(*platform, &devices, &device_count) != 0) return -1;
  if (device_index < 0 || (cl_uint)device_index >= device_count) {
    PyMem_Free(devices);
    PyErr_Format(PyExc_ValueError, "OpenCL platform %d has no device %d (it has %u)", platform_index, device_index,
                 device_count);
    return -1;
  }
  *device = devices[device_index];
  PyMem_Free(devices);
  return 0;
}

/* A string property of a device (or, with device NULL, of a platform). */
static PyObject *info_string(cl_platform_id platform, cl_device_id device, cl_uint param) {
  size_t size = 0;
  cl_int status = device ? opencl.clGetDeviceInfo(device, param, 0, NULL, &size)
                         : opencl.clGetPlatformInfo(platform, param, 0, NULL, &size);
  if (status != CL_SUCCESS) return raise_opencl_error(device ? "clGetDeviceInfo" : "clGetPlatformInfo", status);
  char *text = PyMem_Malloc(size + 1);
  if (!text) return PyErr_NoMemory();
  status = device ? opencl.clGetDeviceInfo(device, param, size, text, NULL)
                  : opencl.clGetPlatformInfo(platform, param, size, text, NULL);
  if (status != CL_SUCCESS) {
    PyMem_Free(text);
    return raise_opencl_error(device ? "clGetDeviceInfo" : "clGetPlatformInfo", status);
  }
  text[size] = '\0';
  size_t length = strlen(text);
  while (length > 0 && (text[length - 1] == ' ' || text[length - 1] == '\n')) --length; /* drivers pad names */
  PyObject *result = PyUnicode_DecodeUTF8(text, (Py_ssize_t)length, "replace");
  PyMem_Free(text);
  return result;
}

/* A fixed-size property; a driver that refuses it leaves *value zero, which
 * the listing reports rather than failing on one odd device. */
static void info_value(cl_device_id device, cl_uint param, void *value, size_t size) {
  memset(value, 0, size);
  if (opencl.clGetDeviceInfo(device, param, size, value, NULL) != CL_SUCCESS) memset(value, 0, size);
}

static const char *type_name(cl_device_type type) {
  if (type & CL_DEVICE_TYPE_GPU) return "gpu";
  if (type & CL_DEVICE_TYPE_CPU) return "cpu";
  if (type & CL_DEVICE_TYPE_ACCELERATOR) return "accelerator";
  return "other";
}

/* Stores `value` (a new reference, stolen; NULL: an error is already set). */
static int set_item(PyObject *dict, const char *key, PyObject *value) {
  if (!value) return -1;
  int rc = PyDict_SetItemString(dict, key, value);
  Py_DECREF(value);
  return rc;
}

static PyObject *describe_device(PyObject *platform_name, int platform_index, int device_index,
                                 cl_device_id device) {
  cl_device_type type;
  cl_ulong global_mem, local_mem;
  cl_uint compute_units;
  size_t max_work_group_size;
  cl_device_fp_config double_config;
  info_value(device, CL_DEVICE_TYPE, &type, sizeof type);
  info_value(device, CL_DEVICE_GLOBAL_MEM_SIZE, &global_mem, sizeof global_mem);
  info_value(device, CL_DEVICE_LOCAL_MEM_SIZE, &local_mem, sizeof local_mem);
  info_value(device, CL_DEVICE_MAX_COMPUTE_UNITS, &compute_units, sizeof compute_units);
  info_value(device, CL_DEVICE_MAX_WORK_GROUP_SIZE, &max_work_group_size, sizeof max_work_group_size);
  info_value(device, CL_DEVICE_DOUBLE_FP_CONFIG, &double_config, sizeof double_config);
  PyObject *extensions = info_string(NULL, device, CL_DEVICE_EXTENSIONS);
  if (!extensions) return NULL;
  PyObject *fp64_name = PyUnicode_FromString("cl_khr_fp64");
  int has_fp64_extension = fp64_name ? PySequence_Contains(extensions, fp64_name) : -1;
  Py_XDECREF(fp64_name);
  Py_DECREF(extensions);
  if (has_fp64_extension < 0) return NULL;
  PyObject *dict = PyDict_New();
  if (!dict) return NULL;
  Py_INCREF(platform_name);
  if (set_item(dict, "platform", platform_name) || set_item(dict, "platform_index", PyLong_FromLong(platform_index)) ||
      set_item(dict, "device_index", PyLong_FromLong(device_index)) ||
      set_item(dict, "name", info_string(NULL, device, CL_DEVICE_NAME)) ||
      set_item(dict, "vendor", info_string(NULL, device, CL_DEVICE_VENDOR)) ||
      set_item(dict, "type", PyUnicode_FromString(type_name(type))) ||
      set_item(dict, "global_mem_bytes", PyLong_FromUnsignedLongLong(global_mem)) ||
      set_item(dict, "compute_units", PyLong_FromUnsignedLong(compute_units)) ||
      set_item(dict, "max_work_group_size", PyLong_FromSize_t(max_work_group_size)) ||
      set_item(dict, "opencl_version", info_string(NULL, device, CL_DEVICE_VERSION)) ||
      set_item(dict, "driver_version", info_string(NULL, device, CL_DRIVER_VERSION)) ||
      set_item(dict, "fp64", PyBool_FromLong(has_fp64_extension || double_config != 0)) ||
      set_item(dict, "local_mem_bytes", PyLong_FromUnsignedLongLong(local_mem))) {
    Py_DECREF(dict);
    return NULL;
  }
  return dict;
}

/* Appends the devices of one platform to `list`. */
static int describe_platform(PyObject *list, cl_platform_id platform, int platform_index) {
  cl_device_id *devices;
  cl_uint device_count;
  if (list_devices(platform, &devices, &device_count) != 0) return -1;
  PyObject *platform_name = device_count ? info_string(platform, NULL, CL_PLATFORM_NAME) : NULL;
  int rc = device_count && !platform_name ? -1 : 0;
  for (cl_uint k = 0; rc == 0 && k < device_count; ++k) {
    PyObject *entry = describe_device(platform_name, platform_index, (int)k, devices[k]);
    rc = entry ? PyList_Append(list, entry) : -1;
    Py_XDECREF(entry);
  }
  Py_XDECREF(platform_name);
  PyMem_Free(devices);
  return rc;
}

PyObject *opencl_devices(PyObject *module, PyObject *unused) {
  cl_platform_id *platforms;
  cl_uint platform_count;
  if (list_platforms(&platforms, &platform_count) != 0) return NULL;
  PyObject *list = PyList_New(0);
  for (cl_uint p = 0; list && p < platform_count; ++p) {
    if (describe_platform(list, platforms[p], (int)p) != 0) Py_CLEAR(list);
  }
  PyMem_Free(platforms);
  return list;
}
#endif /* SEJITS_HAVE_OPENCL_HEADERS */
