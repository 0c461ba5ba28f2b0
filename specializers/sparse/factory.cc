#include "specializers/sparse/factory.h"

#include "specializers/common/argument_key.h"
#include "specializers/entry_roles.h"
#include "specializers/sparse/frontend.h"
#include "specializers/sparse/lower.h"
#include "specializers/sparse/plan.h"

namespace sejits::specializers {
namespace {

using sparse::Operation;
using sparse::SparseIr;

EntryParam array(std::string name, ParamRole role, DType dtype) { return {std::move(name), role, dtype, {}}; }

class SparseSpecializer : public Specializer {
 public:
  std::string name() const override { return sparse::kName; }
  std::string version() const override { return "sparse-3"; }

  absl::StatusOr<std::unique_ptr<DomainIr>> front_end(const SpecializationRequest &request) const override {
    auto ir = sparse::build_sparse_ir(request);
    if (!ir.ok()) return ir.status();
    return std::unique_ptr<DomainIr>(std::move(*ir));
  }

  // The algorithm is the runtime's; there is nothing to rewrite.
  std::unique_ptr<DomainIr> optimize(std::unique_ptr<DomainIr> ir, std::vector<std::string> &) const override { return ir; }

  absl::StatusOr<std::unique_ptr<LoweringPlan>> plan_variant(const DomainIr &ir, const SpecializationRequest &request,
                                                             Platform platform) const override {
    return sparse::plan_variant(static_cast<const SparseIr &>(ir), request, platform);
  }

  absl::StatusOr<codegen::TranslationUnit> lower(const DomainIr &ir, const LoweringPlan &plan,
                                                 std::vector<std::string> &notes) const override {
    return sparse::lower_sparse(static_cast<const SparseIr &>(ir), static_cast<const sparse::SparsePlan &>(plan), notes);
  }

  // Every entry starts with the matrix (data, indices, indptr); the caller
  // allocates every array (their sizes are the matrix's), so all are inputs
  // or updated in place.
  KernelInterface kernel_interface(const DomainIr &domain_ir, const SpecializationRequest &) const override {
    const auto &ir = static_cast<const SparseIr &>(domain_ir);
    const DType t = ir.dtype, index = ir.index_dtype;
    const std::vector<EntryParam> matrix = {array("data", ParamRole::kInput, t), array("indices", ParamRole::kInput, index),
                                            array("indptr", ParamRole::kInput, index)};
    auto with = [&matrix](std::vector<EntryParam> tail) {
      std::vector<EntryParam> params = matrix;
      params.insert(params.end(), tail.begin(), tail.end());
      return params;
    };
    if (ir.operation == Operation::kPowers) {
      return {{EntryPoint{kCallRole, sparse::kPowersSymbol,
                          with({array("plan", ParamRole::kInput, DType::kInt64), array("coeffs", ParamRole::kInput, DType::kFloat64),
                                array("V", ParamRole::kInOut, t)})}}};
    }
    EntryPoint spmv{kCallRole, sparse::kSpmvSymbol, with({array("x", ParamRole::kInput, t), array("y", ParamRole::kInOut, t)})};
    EntryPoint iteration{sparse::kCgIterationRole, sparse::kCgIterationSymbol,
                         with({array("x", ParamRole::kInOut, t), array("r", ParamRole::kInOut, t), array("z", ParamRole::kInput, t),
                               array("p", ParamRole::kInOut, t), array("q", ParamRole::kInOut, t),
                               array("state", ParamRole::kInOut, DType::kFloat64)})};
    return {{std::move(spmv), std::move(iteration)}};
  }

  // The code depends on the dtypes of data and indices (and the params, in the key already).
  std::string argument_key(const SpecializationRequest &request) const override {
    return argument_key_text(request.args, /*with_ranks=*/true);
  }

  std::string shape_class(const SpecializationRequest &request, const std::string &entry_role) const override {
    return sparse::matrix_shape_class(request, entry_role);
  }

  tuner::TuningSpace tuning_space(const SpecializationRequest &request, const std::string &shape_class) const override {
    return sparse::tuning_space(request, shape_class);
  }
};

}  // namespace

std::unique_ptr<Specializer> make_sparse_specializer() { return std::make_unique<SparseSpecializer>(); }

}  // namespace sejits::specializers
