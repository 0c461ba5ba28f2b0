// The phases of a specialization request, in order. Compiling and storing the
// generated source is the back end's job (server/core), not the pipeline's.
#include "specializers/pipeline.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "codegen/cpp_printer.h"
#include "specializers/platforms.h"
#include "specializers/registry.h"
#include "spdlog/spdlog.h"

namespace sejits::specializers {
namespace {

// The entries of `interface` that the lowering defined (a variant may leave
// one out, e.g. iterate without temporal blocking).
KernelInterface emitted_entries(KernelInterface interface, const codegen::TranslationUnit &unit) {
  std::erase_if(interface.entries, [&](const EntryPoint &entry) {
    return std::none_of(unit.functions.begin(), unit.functions.end(),
                        [&](const codegen::Function &function) { return function.exported && function.name == entry.symbol; });
  });
  return interface;
}

// A NumPy module has one function, `call`'s: other entries run call by call.
KernelInterface numpy_interface(KernelInterface interface, const std::string &function) {
  std::erase_if(interface.entries, [](const EntryPoint &entry) { return entry.role != "call"; });
  for (EntryPoint &entry : interface.entries) entry.symbol = function;
  return interface;
}

}  // namespace

absl::StatusOr<GeneratedKernel> run_pipeline(const SpecializationRequest &request) {
  // 1. Choose the specializer by name.
  const Specializer *specializer = find_specializer(request.specializer);
  if (specializer == nullptr) {
    return absl::InvalidArgumentError(absl::StrCat("unknown specializer '", request.specializer.substr(0, 64),
                                                   "' (known: ", absl::StrJoin(specializer_names(), ", "), ")"));
  }
  const bool opencl = request.platform == kOpenClPlatform;
  const bool numpy = request.platform == kNumpyPlatform;
  if (request.platform != kCpuOpenMpPlatform && !opencl && !numpy) {
    return absl::InvalidArgumentError(absl::StrCat("unknown target platform '", request.platform.substr(0, 64), "' (known: ",
                                                   kCpuOpenMpPlatform, ", ", kOpenClPlatform, ", ", kNumpyPlatform, ")"));
  }
  std::vector<std::string> notes;

  // 2. Front end: Python AST -> domain IR.
  auto domain_ir = specializer->front_end(request);
  if (!domain_ir.ok()) return domain_ir.status();
  if (spdlog::should_log(spdlog::level::debug)) spdlog::debug("pipeline: front end: {}", (*domain_ir)->describe());

  // 3. Domain optimizations on the domain IR.
  const DomainIr *before = domain_ir->get();
  std::unique_ptr<DomainIr> optimized = specializer->optimize(std::move(*domain_ir), notes);
  if (optimized.get() != before && spdlog::should_log(spdlog::level::debug)) spdlog::debug("pipeline: optimized: {}", optimized->describe());

  KernelInterface interface = specializer->kernel_interface(*optimized, request);
  GeneratedKernel kernel;
  kernel.specializer_version = specializer->version();

  // 4-5 on the NumPy platform: the domain IR printed as a Python module of
  // whole-array operations. Nothing to lower to loops, nothing to compile.
  if (numpy) {
    auto module = specializer->lower_numpy(*optimized, request, notes);
    if (!module.ok()) return module.status();
    kernel.source = std::move(module->source);
    kernel.interface = numpy_interface(interface, module->entry_symbol);
    kernel.notes = std::move(notes);
    return kernel;
  }

  // 4. Lowering to the platform IR (loops, parallel regions, vector hints).
  auto unit = specializer->lower(*optimized, request, notes);
  if (!unit.ok()) return unit.status();

  // 5. Back end: print the platform IR as source (OpenCL kernels are printed
  // as OpenCL C and embedded in the C++ host part).
  kernel.source = codegen::print_cpp(*unit);
  kernel.interface = emitted_entries(std::move(interface), *unit);
  kernel.notes = std::move(notes);
  if (opencl) kernel.libraries = {"-lOpenCL"};
  return kernel;
}

}  // namespace sejits::specializers
