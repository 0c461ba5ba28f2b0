#include "specializers/elementwise/factory.h"

#include "absl/strings/str_cat.h"

#include "specializers/common/argument_key.h"
#include "specializers/common/shape_class.h"
#include "specializers/common/synthetic_call.h"
#include "specializers/elementwise/frontend.h"
#include "specializers/elementwise/lower.h"
#include "specializers/elementwise/lower_numpy.h"
#include "specializers/elementwise/lower_opencl.h"
#include "specializers/elementwise/optimize.h"
#include "specializers/elementwise/plan.h"
#include "specializers/elementwise/variant_plan.h"
#include "specializers/entry_roles.h"

namespace sejits::specializers {
namespace {

class ElementwiseSpecializer : public Specializer {
 public:
  std::string name() const override { return "elementwise"; }
  std::string version() const override { return "elementwise-13"; }

  absl::StatusOr<std::unique_ptr<DomainIr>> front_end(const SpecializationRequest &request) const override {
    auto ir = elementwise::build_elementwise_ir(request);
    if (!ir.ok()) return ir.status();
    return std::unique_ptr<DomainIr>(std::move(*ir));
  }

  std::unique_ptr<DomainIr> optimize(std::unique_ptr<DomainIr> ir, std::vector<std::string> &notes) const override {
    elementwise::optimize_elementwise(static_cast<elementwise::ElementwiseIr &>(*ir), notes);
    return ir;
  }

  absl::StatusOr<std::unique_ptr<LoweringPlan>> plan_variant(const DomainIr &, const SpecializationRequest &request,
                                                             Platform platform) const override {
    return elementwise::plan_variant(request, platform);
  }

  absl::StatusOr<codegen::TranslationUnit> lower(const DomainIr &ir, const LoweringPlan &plan,
                                                 std::vector<std::string> &notes) const override {
    const auto &elementwise_ir = static_cast<const elementwise::ElementwiseIr &>(ir);
    const auto &variant = static_cast<const elementwise::ElementwiseLoweringPlan &>(plan);
    if (variant.platform == Platform::kOpenCl) {
      return elementwise::lower_elementwise_opencl(elementwise_ir, variant.opencl, variant.rank, notes);
    }
    return elementwise::lower_elementwise(elementwise_ir, variant.cpu, notes);
  }

  absl::StatusOr<NumpyModule> lower_numpy(const DomainIr &ir, const SpecializationRequest &,
                                          std::vector<std::string> &notes) const override {
    return elementwise::lower_elementwise_numpy(static_cast<const elementwise::ElementwiseIr &>(ir), notes);
  }

  // The C++ kernels take arrays of any rank; OpenCL kernels are generated
  // for the ranks they are called with, so there the rank is part of the key
  // (and a request of another rank meets the front end).
  std::string argument_key(const SpecializationRequest &request) const override {
    return argument_key_text(request.args, request.platform == kOpenClPlatform);
  }

  std::string shape_class(const SpecializationRequest &request, const std::string &entry_role) const override {
    return size_bucket_shape_class(request.args, entry_role);
  }

  bool times_offline(const std::string &entry_role) const override { return entry_role == kCallRole; }

  // One synthetic output per output: a kernel returning a tuple takes several.
  absl::StatusOr<std::vector<SyntheticArg>> synthetic_call(const SpecializationRequest &request,
                                                           DType result_dtype) const override {
    absl::StatusOr<std::vector<SyntheticArg>> call = broadcast_synthetic_call(request.args, result_dtype);
    if (!call.ok()) return call;
    auto ir = elementwise::build_elementwise_ir(request);
    if (ir.ok() && (*ir)->outputs.size() > 1) {
      const SyntheticArg out = call->back();
      call->pop_back();
      for (const elementwise::Output &output : (*ir)->outputs) call->push_back({out.kind, output.type.dtype, out.shape});
    }
    return call;
  }

  tuner::TuningSpace tuning_space(const SpecializationRequest &request, const std::string &shape_class) const override {
    return elementwise::tuning_space(request, shape_class);
  }

  // call(inputs..., out) or call(inputs..., out0, out1, ...) for a kernel
  // returning a tuple: each output has the broadcast shape of the array inputs.
  KernelInterface kernel_interface(const DomainIr &ir, const SpecializationRequest &request) const override {
    const auto &outputs = static_cast<const elementwise::ElementwiseIr &>(ir).outputs;
    std::vector<EntryParam> params = argument_params(request);
    std::vector<int> arrays;
    for (size_t k = 0; k < params.size(); ++k) {
      if (params[k].role == ParamRole::kInput) arrays.push_back(static_cast<int>(k));
    }
    for (size_t j = 0; j < outputs.size(); ++j) {
      params.push_back(shaped_like(outputs.size() == 1 ? std::string("out") : absl::StrCat("out", j), ParamRole::kOutput,
                                   outputs[j].type.dtype, arrays));
      if (params.back().shape.broadcast.empty()) params.back().shape.dims = {};  // no array: a 0-d result
    }
    return {{{kCallRole, elementwise::kEntrySymbol, std::move(params)}}};
  }
};

}  // namespace

std::unique_ptr<Specializer> make_elementwise_specializer() { return std::make_unique<ElementwiseSpecializer>(); }

}  // namespace sejits::specializers
