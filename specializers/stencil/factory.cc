#include "specializers/stencil/factory.h"

#include "absl/strings/str_cat.h"

#include "specializers/stencil/class_frontend.h"
#include "specializers/stencil/frontend.h"
#include "specializers/stencil/lower.h"
#include "specializers/stencil/lower_numpy.h"
#include "specializers/stencil/lower_opencl.h"
#include "specializers/stencil/optimize.h"
#include "specializers/stencil/plan.h"
#include "specializers/stencil/temporal.h"

namespace sejits::specializers {
namespace {

class StencilSpecializer : public Specializer {
 public:
  std::string name() const override { return "stencil"; }
  std::string version() const override { return "stencil-7"; }

  absl::StatusOr<std::unique_ptr<DomainIr>> front_end(const SpecializationRequest &request) const override {
    auto style = request.params.find("style");
    auto ir = style != request.params.end() && style->second == "class" ? stencil::build_class_stencil_ir(request)
                                                                         : stencil::build_stencil_ir(request);
    if (!ir.ok()) return ir.status();
    return std::unique_ptr<DomainIr>(std::move(*ir));
  }

  std::unique_ptr<DomainIr> optimize(std::unique_ptr<DomainIr> ir, std::vector<std::string> &notes) const override {
    stencil::optimize_stencil(static_cast<stencil::StencilIr &>(*ir), notes);
    return ir;
  }

  absl::StatusOr<codegen::TranslationUnit> lower(const DomainIr &ir, const SpecializationRequest &request,
                                                 std::vector<std::string> &notes) const override {
    const auto &stencil_ir = static_cast<const stencil::StencilIr &>(ir);
    if (request.platform == kOpenClPlatform) {
      absl::StatusOr<OpenClPlan> plan = parse_opencl_plan(name(), request.params, stencil::default_stencil_opencl_plan(stencil_ir.rank));
      if (!plan.ok()) return plan.status();
      return stencil::lower_stencil_opencl(stencil_ir, *plan, notes);
    }
    absl::StatusOr<stencil::StencilPlan> plan = stencil::parse_plan(request.params);
    if (!plan.ok()) return plan.status();
    return stencil::lower_stencil(stencil_ir, *plan, notes);
  }

  // Class-style kernels too: their IR is a "skip" stencil over the input
  // grids, called as the native entry is, with (inputs, output grid).
  absl::StatusOr<NumpyModule> lower_numpy(const DomainIr &ir, const SpecializationRequest &,
                                          std::vector<std::string> &notes) const override {
    return stencil::lower_stencil_numpy(static_cast<const stencil::StencilIr &>(ir), notes);
  }

  // call(inputs..., out): one sweep; iterate(inputs..., spare, steps, out):
  // `steps` sweeps ping-ponging between the spare buffer and out (see
  // temporal.h). Both buffers are shaped like the grid, the first input.
  KernelInterface kernel_interface(const DomainIr &ir, const SpecializationRequest &) const override {
    const auto &stencil_ir = static_cast<const stencil::StencilIr &>(ir);
    const DType result = stencil_ir.result.dtype;
    std::vector<EntryParam> call;  // the IR's parameters: a class stencil's input grids, without its output grid
    for (const stencil::Parameter &parameter : stencil_ir.parameters) {
      call.push_back({absl::StrCat("a", call.size()), parameter.kind == ArgKind::kArray ? ParamRole::kInput : ParamRole::kScalar,
                      parameter.type.dtype, {}});
    }
    std::vector<EntryParam> iterate = call;
    call.push_back(shaped_like("out", ParamRole::kOutput, result, {0}));
    iterate.push_back(shaped_like("spare", ParamRole::kWorkspace, result, {0}));
    iterate.push_back({"steps", ParamRole::kScalar, DType::kInt64, {}});
    iterate.push_back(shaped_like("out", ParamRole::kOutput, result, {0}));
    return {{{"call", stencil::kEntrySymbol, std::move(call)}, {"iterate", stencil::kIterateSymbol, std::move(iterate)}}};
  }

  tuner::TuningSpace tuning_space(const SpecializationRequest &request, const std::string &shape_class) const override {
    return stencil::tuning_space(request, shape_class);
  }
};

}  // namespace

std::unique_ptr<Specializer> make_stencil_specializer() { return std::make_unique<StencilSpecializer>(); }

}  // namespace sejits::specializers
