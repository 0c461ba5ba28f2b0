#include "client-cpp/kernel_loader.h"

#include <dlfcn.h>

#include "absl/strings/str_cat.h"

namespace sejits::client {

absl::StatusOr<LoadedKernel> LoadedKernel::load(const std::string &path, const std::string &entry_symbol) {
  void *handle = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (!handle) return absl::NotFoundError(absl::StrCat("cannot load ", path, ": ", dlerror()));
  auto version = reinterpret_cast<sejits_abi_version_fn>(dlsym(handle, SEJITS_ABI_VERSION_SYMBOL));
  if (!version || version() != SEJITS_ABI_VERSION) {
    dlclose(handle);
    return absl::FailedPreconditionError(absl::StrCat(path, " was built for another kernel ABI"));
  }
  auto entry = reinterpret_cast<sejits_entry_fn>(dlsym(handle, entry_symbol.c_str()));
  if (!entry) return absl::NotFoundError(absl::StrCat(path, " has no entry point ", entry_symbol));
  return LoadedKernel(entry);  // the artifact stays mapped for the life of the process
}

absl::StatusOr<LoadedKernel> LoadedKernel::load(const v1::SpecializeResponse &response, const std::string &role) {
  std::string roles;
  for (const v1::EntryPoint &entry : response.interface().entries()) {
    if (entry.role() == role) return load(response.artifact_path(), entry.symbol());
    absl::StrAppend(&roles, roles.empty() ? "" : ", ", entry.role());
  }
  return absl::NotFoundError(absl::StrCat("the artifact has no '", role, "' entry point (it has: ",
                                          roles.empty() ? "none" : roles, ")"));
}

absl::Status LoadedKernel::call(const std::vector<sejits_arg> &args) const {
  char error[1024] = {0};
  if (entry_(args.data(), static_cast<int32_t>(args.size()), error, sizeof error) != 0) {
    return absl::InvalidArgumentError(error[0] ? error : "kernel failed");
  }
  return absl::OkStatus();
}

sejits_arg array_arg(void *data, int32_t dtype, const std::vector<int64_t> &shape, int64_t itemsize) {
  sejits_arg arg{};
  arg.data = data;
  arg.kind = SEJITS_ARG_ARRAY;
  arg.dtype = dtype;
  arg.rank = static_cast<int32_t>(shape.size());
  int64_t stride = itemsize;
  for (int d = arg.rank - 1; d >= 0; --d) {
    arg.shape[d] = shape[d];
    arg.strides[d] = stride;
    stride *= shape[d];
  }
  return arg;
}

sejits_arg float_scalar_arg(double value) {
  sejits_arg arg{};
  arg.kind = SEJITS_ARG_SCALAR;
  arg.dtype = SEJITS_FLOAT64;
  arg.scalar.f = value;
  return arg;
}

}  // namespace sejits::client
