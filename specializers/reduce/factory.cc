#include "specializers/reduce/factory.h"

#include "specializers/common/argument_key.h"
#include "specializers/common/shape_class.h"
#include "specializers/entry_roles.h"
#include "specializers/reduce/frontend.h"
#include "specializers/reduce/lower.h"
#include "specializers/reduce/lower_opencl.h"
#include "specializers/reduce/plan.h"

namespace sejits::specializers {
namespace {

class ReduceSpecializer : public Specializer {
 public:
  std::string name() const override { return "reduce"; }
  std::string version() const override { return "reduce-7"; }

  absl::StatusOr<std::unique_ptr<DomainIr>> front_end(const SpecializationRequest &request) const override {
    auto ir = reduce::build_reduce_ir(request);
    if (!ir.ok()) return ir.status();
    return std::unique_ptr<DomainIr>(std::move(*ir));
  }

  // The map is folded into the accumulation by construction; nothing else to do yet.
  std::unique_ptr<DomainIr> optimize(std::unique_ptr<DomainIr> ir, std::vector<std::string> &) const override { return ir; }

  absl::StatusOr<std::unique_ptr<LoweringPlan>> plan_variant(const DomainIr &, const SpecializationRequest &request,
                                                             Platform platform) const override {
    return reduce::plan_variant(request, platform);
  }

  absl::StatusOr<codegen::TranslationUnit> lower(const DomainIr &ir, const LoweringPlan &plan,
                                                 std::vector<std::string> &notes) const override {
    const auto &reduce_ir = static_cast<const reduce::ReduceIr &>(ir);
    const auto &reduce_plan = static_cast<const reduce::ReducePlan &>(plan);
    if (reduce_plan.platform == Platform::kOpenCl) return reduce::lower_reduce_opencl(reduce_ir, reduce_plan, notes);
    return reduce::lower_reduce(reduce_ir, reduce_plan, notes);
  }

  // The generated code depends on each array's rank (the output keeps the
  // leading ones); the reduction's params are part of the key already.
  std::string argument_key(const SpecializationRequest &request) const override {
    return argument_key_text(request.args, /*with_ranks=*/true);
  }

  std::string shape_class(const SpecializationRequest &request, const std::string &entry_role) const override {
    return size_bucket_shape_class(request.args, entry_role);
  }

  tuner::TuningSpace tuning_space(const SpecializationRequest &request, const std::string &shape_class) const override {
    return reduce::tuning_space(request, shape_class);
  }

  // call(map arguments..., [where], [initial], out): the arrays are broadcast
  // to one shape, reduced dimensions last; out has the leading, kept ones
  // (a scan's has them all).
  KernelInterface kernel_interface(const DomainIr &domain_ir, const SpecializationRequest &request) const override {
    const auto &ir = static_cast<const reduce::ReduceIr &>(domain_ir);
    std::vector<EntryParam> params = argument_params(request);
    int first_array = -1;
    for (size_t k = 0; k < request.args.size() && first_array < 0; ++k) {
      if (request.args[k].kind == ArgKind::kArray) first_array = static_cast<int>(k);
    }
    if (ir.where) params.push_back({"where", ParamRole::kInput, DType::kBool, {}});
    if (ir.initial) params.push_back({"initial", ParamRole::kScalar, ir.accumulator.dtype, {}});
    EntryParam out{"out", ParamRole::kOutput, reduce::result_dtype(ir), {}};
    if (first_array >= 0) {
      const int kept = request.args[first_array].rank - (ir.scan ? 0 : ir.reduced_dims);  // a scan's output keeps every dimension
      for (int d = 0; d < kept; ++d) {
        out.shape.dims.push_back(Dimension::of_axis(first_array, d));
      }
    }
    params.push_back(std::move(out));
    return {{{kCallRole, reduce::kEntrySymbol, std::move(params)}}};
  }
};

}  // namespace

std::unique_ptr<Specializer> make_reduce_specializer() { return std::make_unique<ReduceSpecializer>(); }

}  // namespace sejits::specializers
