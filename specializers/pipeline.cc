// The phases of a specialization request, in order. Compiling and storing the
// generated source is the back end's job (server/core), not the pipeline's.
// At debug level every phase that changed the kernel logs it afterwards.
#include "specializers/pipeline.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "codegen/cpp_printer.h"
#include "specializers/entry_roles.h"
#include "specializers/platforms.h"
#include "specializers/registry.h"
#include "spdlog/spdlog.h"

namespace sejits::specializers {
namespace {

bool debugging() { return spdlog::should_log(spdlog::level::debug); }

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
  std::erase_if(interface.entries, [](const EntryPoint &entry) { return entry.role != kCallRole; });
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
  // 2. Choose the target platform.
  absl::StatusOr<Platform> platform = parse_platform(request.platform);
  if (!platform.ok()) return platform.status();
  std::vector<std::string> notes;

  // 3. Front end: Python AST -> domain IR.
  auto domain_ir = specializer->front_end(request);
  if (!domain_ir.ok()) return domain_ir.status();
  if (debugging()) spdlog::debug("pipeline: front end: {}", (*domain_ir)->describe());

  // 4. Domain optimizations on the domain IR.
  const DomainIr *before = domain_ir->get();
  std::unique_ptr<DomainIr> optimized = specializer->optimize(std::move(*domain_ir), notes);
  if (optimized.get() != before && debugging()) spdlog::debug("pipeline: optimized: {}", optimized->describe());

  KernelInterface interface = specializer->kernel_interface(*optimized, request);
  GeneratedKernel kernel;
  kernel.specializer_version = specializer->version();

  // 5-7 on the NumPy platform: the domain IR printed as a Python module of
  // whole-array operations. No variants, nothing to lower to loops, nothing to compile.
  if (*platform == Platform::kNumpy) {
    auto module = specializer->lower_numpy(*optimized, request, notes);
    if (!module.ok()) return module.status();
    if (debugging()) spdlog::debug("pipeline: printed as NumPy:\n{}", module->source);
    kernel.source = std::move(module->source);
    kernel.interface = numpy_interface(interface, module->entry_symbol);
    kernel.notes = std::move(notes);
    return kernel;
  }

  // 5. Variant plan: the code variant the request's "variant.*" params select
  // for the platform (the tuner's choice, or the defaults).
  auto plan = specializer->plan_variant(*optimized, request, *platform);
  if (!plan.ok()) return plan.status();
  if (debugging()) spdlog::debug("pipeline: variant plan: {}", (*plan)->describe());

  // 6. Lowering to the platform IR (loops, parallel regions, vector hints).
  auto unit = specializer->lower(*optimized, **plan, notes);
  if (!unit.ok()) return unit.status();

  // 7. Back end: print the platform IR as source (OpenCL kernels are printed
  // as OpenCL C and embedded in the C++ host part). The printed unit is the
  // lowered IR as the compiler will read it: logged after lowering.
  kernel.source = codegen::print_cpp(*unit);
  if (debugging()) spdlog::debug("pipeline: lowered:\n{}", kernel.source);
  kernel.interface = emitted_entries(std::move(interface), *unit);
  kernel.notes = std::move(notes);
  if (*platform == Platform::kOpenCl) kernel.libraries = {"-lOpenCL"};
  return kernel;
}

}  // namespace sejits::specializers
