/* The values the daemon and the client both need, exported from the headers
 * that define them once (codegen/include/sejits/): the kernel ABI's MAX_RANK
 * and dtype table, the target platform names, and the worker platform's
 * rules. Python reads them here (sejits._platforms, _arguments,
 * _worker_platform, _encode) so that the client repeats none of them and
 * needs no protobuf to know them. */
#include "_native.h"

#include "sejits/kernel_abi.h"
#include "sejits/target_platforms.h"
#include "sejits/worker_platform.h"

/* isa_level(features_line) -> the highest x86-64 level whose features all
 * appear on a /proc/cpuinfo "flags" line ("x86-64" at least). */
static PyObject *isa_level(PyObject *module, PyObject *arg) {
  const char *line = PyUnicode_AsUTF8(arg);
  if (!line) return NULL;
  return PyUnicode_FromString(sejits_x86_64_isa_level(line));
}

/* is_cpu_features_line(line) -> whether a /proc/cpuinfo line is the one that
 * lists the CPU's features (the one cpu_digest hashes). */
static PyObject *is_cpu_features_line(PyObject *module, PyObject *arg) {
  const char *line = PyUnicode_AsUTF8(arg);
  if (!line) return NULL;
  return PyBool_FromLong(sejits_is_cpu_features_line(line));
}

static PyMethodDef table_methods[] = {
    {"isa_level", isa_level, METH_O,
     "isa_level(features_line) -> the highest x86-64 psABI level whose features the line lists."},
    {"is_cpu_features_line", is_cpu_features_line, METH_O,
     "is_cpu_features_line(line) -> whether a /proc/cpuinfo line lists the CPU's features."},
    {NULL, NULL, 0, NULL}};

/* ((code, "name"), ...): the dtypes kernels take, in the table's order. */
static PyObject *dtype_table(void) {
  return Py_BuildValue("("
#define SEJITS_DTYPE_FORMAT(NAME, CODE, TEXT, SIZE, KIND) "(is)"
                       SEJITS_DTYPES(SEJITS_DTYPE_FORMAT)
#undef SEJITS_DTYPE_FORMAT
                       ")"
#define SEJITS_DTYPE_VALUES(NAME, CODE, TEXT, SIZE, KIND) , CODE, TEXT
                       SEJITS_DTYPES(SEJITS_DTYPE_VALUES)
#undef SEJITS_DTYPE_VALUES
  );
}

/* ("x86-64", "x86-64-v2", ...): the x86-64 levels, lowest first. */
static PyObject *level_table(void) {
  return Py_BuildValue("(s"
#define SEJITS_LEVEL_FORMAT(NAME, REQUIRED) "s"
                       SEJITS_X86_64_LEVELS(SEJITS_LEVEL_FORMAT)
#undef SEJITS_LEVEL_FORMAT
                       ")",
                       SEJITS_X86_64_BASELINE
#define SEJITS_LEVEL_VALUES(NAME, REQUIRED) , NAME
                       SEJITS_X86_64_LEVELS(SEJITS_LEVEL_VALUES)
#undef SEJITS_LEVEL_VALUES
  );
}

static int add_object(PyObject *module, const char *name, PyObject *value) {
  if (!value) return -1;
  if (PyModule_AddObject(module, name, value) < 0) {
    Py_DECREF(value);
    return -1;
  }
  return 0;
}

int sejits_tables_init(PyObject *module) {
  if (PyModule_AddFunctions(module, table_methods) < 0) return -1;
  if (PyModule_AddIntConstant(module, "MAX_RANK", SEJITS_MAX_RANK) < 0) return -1;
  if (PyModule_AddStringConstant(module, "PLATFORM_CPU_OPENMP", SEJITS_PLATFORM_CPU_OPENMP) < 0 ||
      PyModule_AddStringConstant(module, "PLATFORM_OPENCL", SEJITS_PLATFORM_OPENCL) < 0 ||
      PyModule_AddStringConstant(module, "PLATFORM_NUMPY", SEJITS_PLATFORM_NUMPY) < 0 ||
      PyModule_AddStringConstant(module, "DEFAULT_PLATFORM", SEJITS_DEFAULT_PLATFORM) < 0)
    return -1;
  if (add_object(module, "DTYPES", dtype_table()) < 0) return -1;
  return add_object(module, "X86_64_LEVELS", level_table());
}
