// The host part of an OpenCL artifact: builds the artifact's program for the
// caller's device (the binary kept on disk per device, driver and source
// digest), sets kernel arguments from the entry point's sejits_args and
// enqueues the kernels. The generated entry points call these helpers in
// order: sejits_cl_begin, sejits_cl_arg_* per argument, sejits_cl_run.
// Contexts and queues belong to the client (one per process and device, see
// kernel_abi.h); the programs built for them live as long as the process.
#pragma once

#define CL_TARGET_OPENCL_VERSION 120
#include <CL/cl.h>

// Plain C headers only: every OpenCL artifact compiles this file, and the
// C++ containers' headers would double its compile time.
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

struct sejits_cl_launch {
  char *error = nullptr;
  int64_t error_len = 0;
  cl_command_queue queue = nullptr;
  cl_kernel kernel = nullptr;
  size_t max_group = 0;         // the kernel's work-group size limit on this device (0: unknown)
  cl_uint next_arg = 0;
  cl_int status = CL_SUCCESS;   // the first failure of an argument
  const char *kernel_name = "";
  cl_mem error_flag = nullptr;  // a device int the kernel sets on NumPy errors
  cl_mem scratch[4] = {};       // the scratch buffers this call uses (sejits_cl_scratch)
  bool scratch_owned[4] = {};   // too large to keep: released after the call
  int scratch_count = 0;
  bool locked = false;
  ~sejits_cl_launch();
};

// ---- programs, one per context, built once per process ------------------

#define SEJITS_CL_MAX_CONTEXTS 16
#define SEJITS_CL_MAX_KERNELS 8

struct sejits_cl_kernel {
  const char *name;  // a generated kernel name (a string literal)
  cl_kernel kernel;
  size_t max_group;
};

struct sejits_cl_program {
  cl_context context;
  cl_program program;
  sejits_cl_kernel kernels[SEJITS_CL_MAX_KERNELS];
  int kernel_count;
  int has_fp64;  // the device has cl_khr_fp64: 1 or 0; -1 not asked yet
  // Scratch buffers of multi-pass calls, kept for the next call (k-th
  // request of a call: scratch[k]): the context's one queue is in order, so
  // a call's kernels never overlap the previous call's.
  cl_mem scratch[4];
  size_t scratch_bytes[4];
};

// Serializes this artifact's launches: kernel objects hold their arguments.
static pthread_mutex_t sejits_cl_mutex = PTHREAD_MUTEX_INITIALIZER;
static sejits_cl_program sejits_cl_programs[SEJITS_CL_MAX_CONTEXTS];
static int sejits_cl_program_count = 0;

inline sejits_cl_launch::~sejits_cl_launch() {
  if (error_flag) clReleaseMemObject(error_flag);
  for (int k = 0; k < scratch_count; ++k) {
    if (scratch_owned[k]) clReleaseMemObject(scratch[k]);  // freed once the queued kernels are done
  }
  if (locked) pthread_mutex_unlock(&sejits_cl_mutex);
}

// The build options: NumPy's results, not the device's fastest approximations.
static const char sejits_cl_build_options[] = "-cl-fp32-correctly-rounded-divide-sqrt";

// A device info string, malloc'ed (the caller frees it); "" when unknown.
static inline char *sejits_cl_device_string(cl_device_id device, cl_device_info what) {
  size_t size = 0;
  if (clGetDeviceInfo(device, what, 0, nullptr, &size) != CL_SUCCESS) size = 0;
  char *text = (char *)calloc(size + 1, 1);
  if (text && size > 0) clGetDeviceInfo(device, what, size, text, nullptr);
  return text;
}

// FNV-1a: names the binary of one device and driver (the device key), next
// to the source's SHA-256 that the daemon printed into the artifact.
static inline uint64_t sejits_cl_fnv1a(uint64_t hash, const char *text) {
  for (const unsigned char *c = (const unsigned char *)text; *c; ++c) hash = (hash ^ *c) * 1099511628211ull;
  return hash;
}

// Where this device's binary of the program lives; false when not kept.
static inline bool sejits_cl_binary_path(const sejits_device *device, const char *digest, char *path, size_t size) {
  if (!device->binary_cache_dir || !device->binary_cache_dir[0]) return false;
  uint64_t key = sejits_cl_fnv1a(1469598103934665603ull, device->device_key ? device->device_key : "");
  key = sejits_cl_fnv1a(sejits_cl_fnv1a(key, "|"), sejits_cl_build_options);
  int written = snprintf(path, size, "%s/%.32s-%016llx.bin", device->binary_cache_dir, digest, (unsigned long long)key);
  return written > 0 && (size_t)written < size;
}

static inline cl_program sejits_cl_program_from_binary(const sejits_device *device, const char *path) {
  FILE *file = fopen(path, "rb");
  if (!file) return nullptr;
  size_t size = 0, capacity = 1 << 16;
  unsigned char *bytes = (unsigned char *)malloc(capacity);
  size_t got;
  while (bytes && (got = fread(bytes + size, 1, capacity - size, file)) > 0) {
    size += got;
    if (size == capacity) {
      unsigned char *grown = (unsigned char *)realloc(bytes, capacity *= 2);
      if (!grown) free(bytes);
      bytes = grown;
    }
  }
  fclose(file);
  if (!bytes) return nullptr;
  cl_device_id id = (cl_device_id)device->device;
  const unsigned char *data = bytes;
  cl_int status, binary_status;
  cl_program program = clCreateProgramWithBinary((cl_context)device->context, 1, &id, &size, &data, &binary_status, &status);
  free(bytes);
  if (status != CL_SUCCESS) return nullptr;
  if (binary_status != CL_SUCCESS || clBuildProgram(program, 1, &id, sejits_cl_build_options, nullptr, nullptr) != CL_SUCCESS) {
    clReleaseProgram(program);  // a stale or foreign binary: build from source instead
    return nullptr;
  }
  return program;
}

// Written to a temporary name and renamed: readers never see half a binary.
static inline void sejits_cl_keep_binary(cl_program program, const char *path, const char *directory) {
  size_t size = 0;
  if (clGetProgramInfo(program, CL_PROGRAM_BINARY_SIZES, sizeof size, &size, nullptr) != CL_SUCCESS || size == 0) return;
  unsigned char *data = (unsigned char *)malloc(size);
  if (!data) return;
  char temporary[4200];
  if (clGetProgramInfo(program, CL_PROGRAM_BINARIES, sizeof data, &data, nullptr) == CL_SUCCESS &&
      snprintf(temporary, sizeof temporary, "%s.%d.tmp", path, (int)getpid()) < (int)sizeof temporary) {
    mkdir(directory, 0700);
    FILE *file = fopen(temporary, "wb");
    if (file) {
      bool written = fwrite(data, 1, size, file) == size;
      if (fclose(file) != 0 || !written || rename(temporary, path) != 0) unlink(temporary);
    }
  }
  free(data);
}

static inline cl_program sejits_cl_build(const sejits_device *device, const char *source, const char *digest,
                                         const char *kernel_name, char *error, int64_t error_len) {
  char path[4096];
  const bool keep = sejits_cl_binary_path(device, digest, path, sizeof path);
  if (keep) {
    if (cl_program cached = sejits_cl_program_from_binary(device, path)) return cached;
  }
  cl_device_id id = (cl_device_id)device->device;
  cl_int status;
  cl_program program = clCreateProgramWithSource((cl_context)device->context, 1, &source, nullptr, &status);
  if (status != CL_SUCCESS) {
    snprintf(error, (size_t)error_len, "OpenCL: clCreateProgramWithSource failed (%d) for kernel %s", status, kernel_name);
    return nullptr;
  }
  if (clBuildProgram(program, 1, &id, sejits_cl_build_options, nullptr, nullptr) != CL_SUCCESS) {
    size_t size = 0;
    clGetProgramBuildInfo(program, id, CL_PROGRAM_BUILD_LOG, 0, nullptr, &size);
    char *log = (char *)calloc(size + 1, 1);
    if (log) clGetProgramBuildInfo(program, id, CL_PROGRAM_BUILD_LOG, size, log, nullptr);
    char *name = sejits_cl_device_string(id, CL_DEVICE_NAME);
    snprintf(error, (size_t)error_len, "OpenCL program of kernel %s failed to build for %s; build log:\n%s", kernel_name,
             name ? name : "?", log ? log : "");
    free(name);
    free(log);
    clReleaseProgram(program);
    return nullptr;
  }
  if (keep) sejits_cl_keep_binary(program, path, device->binary_cache_dir);
  return program;
}

// The program built for `context`, or a new empty slot for it; null when
// every slot is taken.
static inline sejits_cl_program *sejits_cl_program_of(cl_context context) {
  for (int k = 0; k < sejits_cl_program_count; ++k) {
    if (sejits_cl_programs[k].context == context) return &sejits_cl_programs[k];
  }
  if (sejits_cl_program_count == SEJITS_CL_MAX_CONTEXTS) return nullptr;
  sejits_cl_program *slot = &sejits_cl_programs[sejits_cl_program_count++];
  slot->context = context;
  slot->has_fp64 = -1;
  return slot;
}

// ---- one call of an entry point -------------------------------------------

static inline int64_t sejits_cl_itemsize(int32_t dtype) {
  int64_t size = sejits_dtype_itemsize(dtype);
  return size ? size : 1;
}

// Takes the artifact's lock and the kernel `kernel_name` of the program built
// for the device of `device_arg` (the entry point's last argument).
static inline int32_t sejits_cl_begin(sejits_cl_launch *launch, const sejits_arg *device_arg, const char *source,
                                      const char *digest, const char *kernel_name, bool needs_fp64, char *error,
                                      int64_t error_len) {
  launch->error = error;
  launch->error_len = error_len;
  launch->kernel_name = kernel_name;
  if (device_arg->kind != SEJITS_ARG_DEVICE || !device_arg->data) {
    return sejits_fail(error, error_len, "an OpenCL kernel needs a device (the last argument)");
  }
  const sejits_device *device = (const sejits_device *)device_arg->data;
  cl_device_id id = (cl_device_id)device->device;
  if (!launch->locked) {  // a multi-pass call begins each of its kernels under one lock
    pthread_mutex_lock(&sejits_cl_mutex);
    launch->locked = true;
  }
  sejits_cl_program *built = sejits_cl_program_of((cl_context)device->context);
  if (!built) return sejits_fail(error, error_len, "OpenCL: this kernel is in use in too many contexts");
  if (built->has_fp64 < 0) {
    char *extensions = sejits_cl_device_string(id, CL_DEVICE_EXTENSIONS);
    built->has_fp64 = extensions && strstr(extensions, "cl_khr_fp64") ? 1 : 0;
    free(extensions);
  }
  if (needs_fp64 && !built->has_fp64) {
    char *name = sejits_cl_device_string(id, CL_DEVICE_NAME);
    snprintf(error, (size_t)error_len, "this kernel computes in float64, which the OpenCL device %s does not support; "
             "call it with float32 arrays", name ? name : "?");
    free(name);
    return 1;
  }
  if (!built->program) {
    built->program = sejits_cl_build(device, source, digest, kernel_name, error, error_len);
    if (!built->program) return 1;
  }
  sejits_cl_kernel *kernel = nullptr;
  for (int k = 0; k < built->kernel_count && !kernel; ++k) {
    if (strcmp(built->kernels[k].name, kernel_name) == 0) kernel = &built->kernels[k];
  }
  if (!kernel) {
    if (built->kernel_count == SEJITS_CL_MAX_KERNELS) return sejits_fail(error, error_len, "OpenCL: too many kernels in one program");
    cl_int status;
    cl_kernel created = clCreateKernel(built->program, kernel_name, &status);
    if (status != CL_SUCCESS) {
      snprintf(error, (size_t)error_len, "OpenCL: clCreateKernel(%s) failed (%d)", kernel_name, status);
      return 1;
    }
    kernel = &built->kernels[built->kernel_count++];
    kernel->name = kernel_name;
    kernel->kernel = created;
    clGetKernelWorkGroupInfo(created, id, CL_KERNEL_WORK_GROUP_SIZE, sizeof kernel->max_group, &kernel->max_group, nullptr);
  }
  launch->kernel = kernel->kernel;
  launch->max_group = kernel->max_group;
  launch->queue = (cl_command_queue)device->queue;
  launch->next_arg = 0;
  return 0;
}

template <typename T>
static inline void sejits_cl_arg_value(sejits_cl_launch *launch, T value) {
  cl_int status = clSetKernelArg(launch->kernel, launch->next_arg++, sizeof(T), &value);
  if (launch->status == CL_SUCCESS) launch->status = status;
}

// A device array: its buffer, then its offset in elements.
static inline void sejits_cl_arg_buffer(sejits_cl_launch *launch, const sejits_arg *arg) {
  const sejits_device_buffer *buffer = (const sejits_device_buffer *)arg->data;
  cl_int status = clSetKernelArg(launch->kernel, launch->next_arg++, sizeof(cl_mem), &buffer->mem);
  if (launch->status == CL_SUCCESS) launch->status = status;
  sejits_cl_arg_value<cl_long>(launch, (cl_long)(buffer->offset / sejits_cl_itemsize(arg->dtype)));
}

// The flag the kernels set on NumPy errors: one buffer per call, shared by
// every launch of the call.
static inline void sejits_cl_arg_error_flag(sejits_cl_launch *launch) {
  cl_int status;
  if (!launch->error_flag) {
    cl_int zero = 0;
    cl_context context;
    clGetCommandQueueInfo(launch->queue, CL_QUEUE_CONTEXT, sizeof context, &context, nullptr);
    launch->error_flag = clCreateBuffer(context, CL_MEM_READ_WRITE | CL_MEM_COPY_HOST_PTR, sizeof zero, &zero, &status);
    if (launch->status == CL_SUCCESS) launch->status = status;
  }
  status = clSetKernelArg(launch->kernel, launch->next_arg++, sizeof(cl_mem), &launch->error_flag);
  if (launch->status == CL_SUCCESS) launch->status = status;
}

// ---- multi-pass calls: scratch buffers between the passes -----------------

// Scratch buffers up to this size are kept by the program for later calls.
#define SEJITS_CL_POOLED_SCRATCH ((size_t)64 << 20)

// A device buffer of at least `bytes` in the context of `device_arg` for
// this call, from the program's pool (grown when too small; the old buffer
// is freed once the kernels queued on it are done); its index for
// sejits_cl_arg_scratch, or -1 with the error written. Takes the artifact's
// lock, which the call's launches then keep.
static inline int32_t sejits_cl_scratch(sejits_cl_launch *launch, const sejits_arg *device_arg, int64_t bytes, char *error,
                                        int64_t error_len) {
  if (device_arg->kind != SEJITS_ARG_DEVICE || !device_arg->data) {
    sejits_fail(error, error_len, "an OpenCL kernel needs a device (the last argument)");
    return -1;
  }
  const int k = launch->scratch_count;
  if (k == (int)(sizeof launch->scratch / sizeof launch->scratch[0])) {
    sejits_fail(error, error_len, "OpenCL: too many scratch buffers in one call");
    return -1;
  }
  if (!launch->locked) {
    pthread_mutex_lock(&sejits_cl_mutex);
    launch->locked = true;
  }
  const sejits_device *device = (const sejits_device *)device_arg->data;
  sejits_cl_program *pool = sejits_cl_program_of((cl_context)device->context);
  if (!pool) {
    sejits_fail(error, error_len, "OpenCL: this kernel is in use in too many contexts");
    return -1;
  }
  const size_t need = (size_t)(bytes > 0 ? bytes : 1);
  if (need > SEJITS_CL_POOLED_SCRATCH) {  // a buffer this large is the call's own, not the process's
    cl_int status;
    cl_mem buffer = clCreateBuffer((cl_context)device->context, CL_MEM_READ_WRITE, need, nullptr, &status);
    if (status != CL_SUCCESS) {
      snprintf(error, (size_t)error_len, "OpenCL: allocating %lld bytes of device scratch failed (%d)", (long long)bytes, status);
      return -1;
    }
    launch->scratch[k] = buffer;
    launch->scratch_owned[k] = true;
    return launch->scratch_count++;
  }
  if (pool->scratch_bytes[k] < need) {
    if (pool->scratch[k]) clReleaseMemObject(pool->scratch[k]);
    pool->scratch[k] = nullptr;
    pool->scratch_bytes[k] = 0;
    cl_int status;
    cl_mem buffer = clCreateBuffer((cl_context)device->context, CL_MEM_READ_WRITE, need, nullptr, &status);
    if (status != CL_SUCCESS) {
      snprintf(error, (size_t)error_len, "OpenCL: allocating %lld bytes of device scratch failed (%d)", (long long)bytes, status);
      return -1;
    }
    pool->scratch[k] = buffer;
    pool->scratch_bytes[k] = need;
  }
  launch->scratch[k] = pool->scratch[k];
  return launch->scratch_count++;
}

// A scratch buffer as a `__global T *` kernel argument (no offset).
static inline void sejits_cl_arg_scratch(sejits_cl_launch *launch, int32_t index) {
  cl_int status = clSetKernelArg(launch->kernel, launch->next_arg++, sizeof(cl_mem), &launch->scratch[index]);
  if (launch->status == CL_SUCCESS) launch->status = status;
}

// Enqueues the kernel over a `dims`-dimensional range of global[d] work
// items in work-groups of local[d] (each rounded so that the group fits the
// kernel's limit; the range rounded up to whole groups). Arguments set since
// the last run stay set.
static inline int32_t sejits_cl_run(sejits_cl_launch *launch, int32_t dims, int64_t g0, int64_t g1, int64_t g2, int64_t l0,
                                    int64_t l1, int64_t l2) {
  if (launch->status != CL_SUCCESS) {
    snprintf(launch->error, (size_t)launch->error_len, "OpenCL: setting the arguments of kernel %s failed (%d)", launch->kernel_name,
             launch->status);
    return 1;
  }
  size_t global[3] = {(size_t)g0, (size_t)g1, (size_t)g2}, local[3] = {(size_t)l0, (size_t)l1, (size_t)l2};
  for (int d = 0; d < dims; ++d) {
    if (global[d] == 0) return 0;  // nothing to compute
  }
  const size_t limit = launch->max_group;
  while (limit > 0 && (dims > 1 ? local[0] * local[1] * (dims > 2 ? local[2] : 1) : local[0]) > limit) {
    int d = dims > 1 && local[1] > 1 ? 1 : 0;
    local[d] = local[d] > 1 ? local[d] / 2 : 1;
  }
  for (int d = 0; d < dims; ++d) {
    if (local[d] < 1) local[d] = 1;
    global[d] = (global[d] + local[d] - 1) / local[d] * local[d];
  }
  cl_int status = clEnqueueNDRangeKernel(launch->queue, launch->kernel, (cl_uint)dims, nullptr, global, local, 0, nullptr, nullptr);
  if (status != CL_SUCCESS) {
    snprintf(launch->error, (size_t)launch->error_len, "OpenCL: enqueueing kernel %s failed (%d)", launch->kernel_name, status);
    return 1;
  }
  return 0;
}

// The NumPy error the kernels flagged (0: none); waits for them.
static inline int sejits_cl_error_flag(sejits_cl_launch *launch) {
  cl_int flag = 0;
  if (clEnqueueReadBuffer(launch->queue, launch->error_flag, CL_TRUE, 0, sizeof flag, &flag, 0, nullptr, nullptr) != CL_SUCCESS) {
    return 0;
  }
  return flag;
}

// True when every device array among args[0, count) is C-contiguous with the
// shape of args[count - 1] (the output): one flat index serves them all.
static inline bool sejits_cl_all_dense(const sejits_arg *args, int32_t count) {
  const sejits_arg &out = args[count - 1];
  for (int32_t k = 0; k < count; ++k) {
    const sejits_arg &arg = args[k];
    if (arg.kind != SEJITS_ARG_DEVICE_ARRAY) continue;
    if (arg.rank != out.rank) return false;
    int64_t expected = sejits_cl_itemsize(arg.dtype);
    for (int32_t d = arg.rank - 1; d >= 0; --d) {
      if (arg.shape[d] != out.shape[d]) return false;
      if (arg.shape[d] != 1 && arg.strides[d] != expected) return false;
      expected *= arg.shape[d];
    }
  }
  return true;
}

// True when every device array among args[0, count) is C-contiguous with the
// shape of args[first]: element i of each is at i from its start.
static inline bool sejits_cl_all_c_contiguous(const sejits_arg *args, int32_t count, int32_t first) {
  const sejits_arg &model = args[first];
  for (int32_t k = 0; k < count; ++k) {
    const sejits_arg &arg = args[k];
    if (arg.kind != SEJITS_ARG_DEVICE_ARRAY) continue;
    if (arg.rank != model.rank) return false;
    int64_t expected = sejits_cl_itemsize(arg.dtype);
    for (int32_t d = arg.rank - 1; d >= 0; --d) {
      if (arg.shape[d] != model.shape[d]) return false;
      if (arg.shape[d] != 1 && arg.strides[d] != expected) return false;
      expected *= arg.shape[d];
    }
  }
  return true;
}

// ---- reductions (specializers/reduce/lower_opencl.cc) ----------------------

// Lanes per output of a reduction's first pass: lane l of an output combines
// its elements l, l + lanes, l + 2 lanes, ... in order. A power of two that
// depends on the reduction's shape only (never on the device or the
// work-group size), so the bits of a result do not either: enough lanes in
// all to keep a GPU's memory busy (2^20: an H200 holds about 2^18 work items
// at once), at least 16 elements each.
static inline int64_t sejits_cl_reduce_lanes(int64_t outputs, int64_t reduced) {
  int64_t lanes = 1;
  while (lanes * 2 * 16 <= reduced && outputs * lanes * 2 <= (int64_t{1} << 20)) lanes *= 2;
  return lanes;
}

// Whether a reduction's first pass gives adjacent work items adjacent lanes
// of one output (the reduced elements are contiguous) rather than the same
// lane of adjacent outputs (the kept ones are): which of the two reads
// memory in order. Speed only: a lane's elements are the same either way.
static inline bool sejits_cl_reduce_lane_major(const sejits_arg *arg, int32_t kept) {
  if (kept == 0 || kept == arg->rank) return true;
  const int64_t item = sejits_cl_itemsize(arg->dtype);
  return arg->strides[arg->rank - 1] == item || arg->strides[kept - 1] != item;
}

static inline int64_t sejits_cl_element_stride(const sejits_arg *arg, int32_t axis) {
  return arg->strides[axis] / sejits_cl_itemsize(arg->dtype);
}
