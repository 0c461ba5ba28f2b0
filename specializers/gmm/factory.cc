#include "specializers/gmm/factory.h"

#include "specializers/common/argument_key.h"
#include "specializers/common/shape_class.h"
#include "specializers/entry_roles.h"
#include "specializers/gmm/frontend.h"
#include "specializers/gmm/lower.h"
#include "specializers/gmm/lower_opencl.h"
#include "specializers/gmm/plan.h"

namespace sejits::specializers {
namespace {

using gmm::Covariance;
using gmm::GmmIr;

EntryParam array(std::string name, ParamRole role, DType dtype, std::vector<Dimension> dims) {
  return {std::move(name), role, dtype, ShapeRule{{}, std::move(dims), {}}};
}
EntryParam number(std::string name) { return {std::move(name), ParamRole::kScalar, DType::kFloat64, {}}; }

class GmmSpecializer : public Specializer {
 public:
  std::string name() const override { return gmm::kName; }
  std::string version() const override { return "gmm-1"; }

  absl::StatusOr<std::unique_ptr<DomainIr>> front_end(const SpecializationRequest &request) const override {
    auto ir = gmm::build_gmm_ir(request);
    if (!ir.ok()) return ir.status();
    return std::unique_ptr<DomainIr>(std::move(*ir));
  }

  // The algorithm is fixed by the runtime; there is nothing to rewrite.
  std::unique_ptr<DomainIr> optimize(std::unique_ptr<DomainIr> ir, std::vector<std::string> &) const override { return ir; }

  absl::StatusOr<std::unique_ptr<LoweringPlan>> plan_variant(const DomainIr &ir, const SpecializationRequest &request,
                                                             Platform platform) const override {
    return gmm::plan_variant(static_cast<const gmm::GmmIr &>(ir), request, platform);
  }

  absl::StatusOr<codegen::TranslationUnit> lower(const DomainIr &ir, const LoweringPlan &plan,
                                                 std::vector<std::string> &notes) const override {
    const auto &gmm_ir = static_cast<const GmmIr &>(ir);
    const auto &gmm_plan = static_cast<const gmm::GmmPlan &>(plan);
    if (gmm_plan.platform == Platform::kOpenCl) return gmm::lower_gmm_opencl(gmm_ir, gmm_plan, notes);
    return gmm::lower_gmm(gmm_ir, gmm_plan, notes);
  }

  // Every parameter array has X's dtype; N (X's rows) is the only size not
  // fixed by the request. The EM loop is "call". The same on OpenCL, with
  // device arrays (and the device after the last parameter).
  KernelInterface kernel_interface(const DomainIr &domain_ir, const SpecializationRequest &) const override {
    const auto &ir = static_cast<const GmmIr &>(domain_ir);
    const DType t = ir.dtype;
    const auto D = Dimension::of_constant(ir.n_features), M = Dimension::of_constant(ir.n_components);
    const auto N = Dimension::of_axis(0, 0);
    const std::vector<Dimension> covariance_dims = ir.covariance == Covariance::kFull   ? std::vector<Dimension>{M, D, D}
                                                   : ir.covariance == Covariance::kTied ? std::vector<Dimension>{D, D}
                                                   : ir.covariance == Covariance::kDiag ? std::vector<Dimension>{M, D}
                                                                                        : std::vector<Dimension>{M};
    const EntryParam x{"X", ParamRole::kInput, t, {}};
    auto parameters = [&](ParamRole role) {
      return std::vector<EntryParam>{array("weights", role, t, {M}), array("means", role, t, {M, D}),
                                     array("precisions_cholesky", role, t, covariance_dims)};
    };
    auto with = [](std::vector<EntryParam> head, std::vector<EntryParam> tail) {
      head.insert(head.end(), tail.begin(), tail.end());
      return head;
    };
    const std::vector<EntryParam> inouts = with(parameters(ParamRole::kInOut), {array("covariances", ParamRole::kInOut, t, covariance_dims)});
    const std::vector<EntryParam> model = with({x}, parameters(ParamRole::kInput));

    EntryPoint call{kCallRole, gmm::kFitSymbol,
                    with(with({x, number("reg_covar"), number("tol"), number("start_bound")}, inouts),
                         {array("lower_bounds", ParamRole::kInOut, DType::kFloat64, {}),
                          array("progress", ParamRole::kOutput, DType::kFloat64, {Dimension::of_constant(2)})})};
    EntryPoint iteration{gmm::kEmIterationRole, gmm::kEmIterationSymbol,
                         with(with({x, number("reg_covar")}, inouts),
                              {array("lower_bound", ParamRole::kOutput, DType::kFloat64, {Dimension::of_constant(1)})})};
    EntryPoint e_step{gmm::kEStepRole, gmm::kEStepSymbol,
                      with(model, {array("log_resp", ParamRole::kOutput, t, {N, M}), array("log_prob_norm", ParamRole::kOutput, t, {N})})};
    EntryPoint m_step{gmm::kMStepRole, gmm::kMStepSymbol,
                      {x, {"resp", ParamRole::kInput, t, {}}, number("reg_covar"), array("nk", ParamRole::kOutput, t, {M}),
                       array("means", ParamRole::kOutput, t, {M, D}), array("covariances", ParamRole::kOutput, t, covariance_dims),
                       array("precisions_cholesky", ParamRole::kOutput, t, covariance_dims)}};
    EntryPoint score{gmm::kScoreSamplesRole, gmm::kScoreSamplesSymbol,
                     with(model, {array("log_prob_norm", ParamRole::kOutput, t, {N})})};
    EntryPoint predict{gmm::kPredictRole, gmm::kPredictSymbol, with(model, {array("labels", ParamRole::kOutput, DType::kInt64, {N})})};
    return {{std::move(call), std::move(iteration), std::move(e_step), std::move(m_step), std::move(score), std::move(predict)}};
  }

  // The code depends on X's dtype and rank; D, M and the covariance type are params (in the key already).
  std::string argument_key(const SpecializationRequest &request) const override {
    return argument_key_text(request.args, /*with_ranks=*/true);
  }

  std::string shape_class(const SpecializationRequest &request, const std::string &entry_role) const override {
    return size_bucket_shape_class(request.args, entry_role);
  }

  tuner::TuningSpace tuning_space(const SpecializationRequest &request, const std::string &shape_class) const override {
    return gmm::tuning_space(request, shape_class);
  }
};

}  // namespace

std::unique_ptr<Specializer> make_gmm_specializer() { return std::make_unique<GmmSpecializer>(); }

}  // namespace sejits::specializers
