#include "specializers/stencil/factory.h"

#include "absl/strings/str_cat.h"
#include "specializers/common/argument_key.h"
#include "specializers/common/shape_class.h"
#include "specializers/common/synthetic_call.h"
#include "specializers/entry_roles.h"
#include "specializers/stencil/class_frontend.h"
#include "specializers/stencil/frontend.h"
#include "specializers/stencil/lower.h"
#include "specializers/stencil/lower_numpy.h"
#include "specializers/stencil/lower_opencl.h"
#include "specializers/stencil/optimize.h"
#include "specializers/stencil/plan.h"
#include "specializers/stencil/temporal.h"
#include "specializers/stencil/variant_plan.h"

namespace sejits::specializers {
namespace {

class StencilSpecializer : public Specializer {
 public:
  std::string name() const override { return "stencil"; }
  std::string version() const override { return "stencil-15"; }

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

  absl::StatusOr<std::unique_ptr<LoweringPlan>> plan_variant(const DomainIr &ir, const SpecializationRequest &request,
                                                             Platform platform) const override {
    return stencil::plan_variant(static_cast<const stencil::StencilIr &>(ir), request, platform);
  }

  absl::StatusOr<codegen::TranslationUnit> lower(const DomainIr &ir, const LoweringPlan &plan,
                                                 std::vector<std::string> &notes) const override {
    const auto &stencil_ir = static_cast<const stencil::StencilIr &>(ir);
    const auto &variant = static_cast<const stencil::StencilLoweringPlan &>(plan);
    if (variant.platform == Platform::kOpenCl) return stencil::lower_stencil_opencl(stencil_ir, variant.opencl, notes);
    return stencil::lower_stencil(stencil_ir, variant.cpu, notes);
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
    return {{{kCallRole, stencil::kEntrySymbol, std::move(call)}, {kIterateRole, stencil::kIterateSymbol, std::move(iterate)}}};
  }

  // Stencils are generated for the grid's rank: it is part of the key (and a
  // request of another rank meets the front end).
  std::string argument_key(const SpecializationRequest &request) const override {
    return argument_key_text(request.args, true);
  }

  std::string shape_class(const SpecializationRequest &request, const std::string &entry_role) const override {
    return size_bucket_shape_class(request.args, entry_role);
  }

  // The timing child makes single sweeps; iterate's sweeps are timed by the client.
  bool times_offline(const std::string &entry_role) const override { return entry_role == kCallRole; }

  absl::StatusOr<std::vector<SyntheticArg>> synthetic_call(const SpecializationRequest &request,
                                                           DType result_dtype) const override {
    return broadcast_synthetic_call(request.args, result_dtype);
  }

  tuner::TuningSpace tuning_space(const SpecializationRequest &request, const std::string &shape_class) const override {
    return stencil::tuning_space(request, shape_class);
  }
};

}  // namespace

std::unique_ptr<Specializer> make_stencil_specializer() { return std::make_unique<StencilSpecializer>(); }

}  // namespace sejits::specializers
