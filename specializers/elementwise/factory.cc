#include "specializers/elementwise/factory.h"

#include "specializers/elementwise/frontend.h"
#include "specializers/elementwise/lower.h"
#include "specializers/elementwise/lower_numpy.h"
#include "specializers/elementwise/lower_opencl.h"
#include "specializers/elementwise/optimize.h"
#include "specializers/elementwise/plan.h"

namespace sejits::specializers {
namespace {

class ElementwiseSpecializer : public Specializer {
 public:
  std::string name() const override { return "elementwise"; }
  std::string version() const override { return "elementwise-5"; }

  absl::StatusOr<std::unique_ptr<DomainIr>> front_end(const SpecializationRequest &request) const override {
    auto ir = elementwise::build_elementwise_ir(request);
    if (!ir.ok()) return ir.status();
    return std::unique_ptr<DomainIr>(std::move(*ir));
  }

  std::unique_ptr<DomainIr> optimize(std::unique_ptr<DomainIr> ir, std::vector<std::string> &notes) const override {
    elementwise::optimize_elementwise(static_cast<elementwise::ElementwiseIr &>(*ir), notes);
    return ir;
  }

  absl::StatusOr<codegen::TranslationUnit> lower(const DomainIr &ir, const SpecializationRequest &request,
                                                 std::vector<std::string> &notes) const override {
    const auto &elementwise_ir = static_cast<const elementwise::ElementwiseIr &>(ir);
    if (request.platform == kOpenClPlatform) {
      absl::StatusOr<OpenClPlan> plan = parse_opencl_plan(name(), request.params, OpenClPlan{});
      if (!plan.ok()) return plan.status();
      int rank = 0;  // of the output: the arrays broadcast together
      for (const ArgSpec &arg : request.args) {
        if (arg.kind == ArgKind::kArray) rank = std::max(rank, arg.rank);
      }
      return elementwise::lower_elementwise_opencl(elementwise_ir, *plan, rank, notes);
    }
    absl::StatusOr<elementwise::ElementwisePlan> plan = elementwise::parse_plan(request.params);
    if (!plan.ok()) return plan.status();
    return elementwise::lower_elementwise(elementwise_ir, *plan, notes);
  }

  absl::StatusOr<NumpyModule> lower_numpy(const DomainIr &ir, const SpecializationRequest &,
                                          std::vector<std::string> &notes) const override {
    return elementwise::lower_elementwise_numpy(static_cast<const elementwise::ElementwiseIr &>(ir), notes);
  }

  tuner::TuningSpace tuning_space(const SpecializationRequest &request, const std::string &shape_class) const override {
    return elementwise::tuning_space(request, shape_class);
  }

  // call(inputs..., out): out has the broadcast shape of the array inputs.
  KernelInterface kernel_interface(const DomainIr &ir, const SpecializationRequest &request) const override {
    std::vector<EntryParam> params = argument_params(request);
    std::vector<int> arrays;
    for (size_t k = 0; k < params.size(); ++k) {
      if (params[k].role == ParamRole::kInput) arrays.push_back(static_cast<int>(k));
    }
    params.push_back(shaped_like("out", ParamRole::kOutput, static_cast<const elementwise::ElementwiseIr &>(ir).result.dtype,
                                 std::move(arrays)));
    if (params.back().shape.broadcast.empty()) params.back().shape.dims = {};  // no array: a 0-d result
    return {{{"call", elementwise::kEntrySymbol, std::move(params)}}};
  }
};

}  // namespace

std::unique_ptr<Specializer> make_elementwise_specializer() { return std::make_unique<ElementwiseSpecializer>(); }

}  // namespace sejits::specializers
