#include "specializers/testing/factory.h"

#include "absl/strings/str_cat.h"
#include "specializers/common/argument_key.h"
#include "specializers/common/shape_class.h"
#include "specializers/entry_roles.h"
#include "specializers/testing/column_stats_frontend.h"
#include "specializers/testing/column_stats_lower.h"

namespace sejits::specializers {
namespace {

using testing::ColumnStatsIr;

// The one variant there is: nothing to choose.
struct OnlyVariant : LoweringPlan {
  std::string describe() const override { return "the only variant"; }
};

class TestColumnStatsSpecializer : public Specializer {
 public:
  std::string name() const override { return testing::kColumnStatsName; }
  std::string version() const override { return "test_column_stats-1"; }

  absl::StatusOr<std::unique_ptr<DomainIr>> front_end(const SpecializationRequest &request) const override {
    auto ir = testing::build_column_stats_ir(request);
    if (!ir.ok()) return ir.status();
    return std::unique_ptr<DomainIr>(std::move(*ir));
  }

  std::unique_ptr<DomainIr> optimize(std::unique_ptr<DomainIr> ir, std::vector<std::string> &) const override { return ir; }

  absl::StatusOr<std::unique_ptr<LoweringPlan>> plan_variant(const DomainIr &, const SpecializationRequest &request,
                                                             Platform platform) const override {
    if (platform != Platform::kCpuOpenMp) {
      return absl::UnimplementedError(absl::StrCat(name(), " is lowered for cpu-openmp only, not for '",
                                                   request.platform.substr(0, 40), "'"));
    }
    return std::unique_ptr<LoweringPlan>(std::make_unique<OnlyVariant>());
  }

  absl::StatusOr<codegen::TranslationUnit> lower(const DomainIr &ir, const LoweringPlan &,
                                                 std::vector<std::string> &notes) const override {
    return testing::lower_column_stats(static_cast<const ColumnStatsIr &>(ir), notes);
  }

  // call(X, col_sums, row_max): col_sums is [X.shape[1]], row_max [X.shape[0]];
  // center(X, col_sums, Y): Y is shaped like X. Every array has X's dtype.
  KernelInterface kernel_interface(const DomainIr &ir, const SpecializationRequest &) const override {
    const DType dtype = static_cast<const ColumnStatsIr &>(ir).dtype;
    const EntryParam x{"X", ParamRole::kInput, dtype, {}};
    EntryPoint call{kCallRole, testing::kColumnStatsCallSymbol, {x}};
    call.params.push_back({"col_sums", ParamRole::kOutput, dtype, ShapeRule{{}, {Dimension::of_axis(0, 1)}, {}}});
    call.params.push_back({"row_max", ParamRole::kOutput, dtype, ShapeRule{{}, {Dimension::of_axis(0, 0)}, {}}});
    EntryPoint center{testing::kCenterRole, testing::kColumnStatsCenterSymbol, {x}};
    center.params.push_back({"col_sums", ParamRole::kInput, dtype, {}});
    center.params.push_back(shaped_like("Y", ParamRole::kOutput, dtype, {0}));
    return {{std::move(call), std::move(center)}};
  }

  // The code is generated per dtype (and for rank 2 only): kind, dtype and rank are the key.
  std::string argument_key(const SpecializationRequest &request) const override {
    return argument_key_text(request.args, true);
  }

  std::string shape_class(const SpecializationRequest &request, const std::string &entry_role) const override {
    return size_bucket_shape_class(request.args, entry_role);
  }
};

}  // namespace

std::unique_ptr<Specializer> make_test_column_stats_specializer() { return std::make_unique<TestColumnStatsSpecializer>(); }

}  // namespace sejits::specializers
