#include "specializers/fuse/factory.h"

#include "specializers/common/argument_key.h"
#include "specializers/common/shape_class.h"
#include "specializers/entry_roles.h"
#include "specializers/fuse/frontend.h"
#include "specializers/fuse/lower.h"
#include "specializers/fuse/optimize.h"
#include "specializers/fuse/row_bands.h"

namespace sejits::specializers {
namespace {

// The one variant so far: the loop nests as lowered.
class FusePlan : public LoweringPlan {
 public:
  std::string describe() const override { return "fuse: default loop nests"; }
};

class FuseSpecializer : public Specializer {
 public:
  std::string name() const override { return "fuse"; }
  std::string version() const override { return "fuse-53"; }

  absl::StatusOr<std::unique_ptr<DomainIr>> front_end(const SpecializationRequest &request) const override {
    auto ir = fuse::build_fuse_ir(request);
    if (!ir.ok()) return ir.status();
    return std::unique_ptr<DomainIr>(std::move(*ir));
  }

  // Producers are fused into their stores by the front end's lazy values;
  // stores over the same points share loop nests here.
  std::unique_ptr<DomainIr> optimize(std::unique_ptr<DomainIr> ir, std::vector<std::string> &notes) const override {
    auto &fuse_ir = static_cast<fuse::FuseIr &>(*ir);
    std::vector<std::string> decisions;
    fuse::fold_constant_values(fuse_ir);
    fuse::eliminate_dead_stores(fuse_ir, decisions);
    fuse::fuse_stores(fuse_ir, decisions);
    fuse::band_rows(fuse_ir, decisions);
    fuse::forward_stored_values(fuse_ir);
    fuse::merge_common_subexpressions(fuse_ir);
    const int banded = static_cast<int>(fuse_ir.row_offsets.size());
    notes.push_back(absl::StrCat("passes over memory: sejits ", fuse::passes_over_memory(fuse_ir), " (one per loop nest",
                                 banded ? absl::StrCat(", ", banded, " of them in another's pass over rows") : "", "), NumPy about ",
                                 fuse_ir.numpy_passes, " (one per array operation, each with a temporary)"));
    notes.insert(notes.end(), decisions.begin(), decisions.end());
    return ir;
  }

  absl::StatusOr<std::unique_ptr<LoweringPlan>> plan_variant(const DomainIr &, const SpecializationRequest &,
                                                             Platform platform) const override {
    if (platform != Platform::kCpuOpenMp) {
      return absl::UnimplementedError("sejits.fuse has no OpenCL form yet; it runs on the CPU");
    }
    return std::unique_ptr<LoweringPlan>(std::make_unique<FusePlan>());
  }

  absl::StatusOr<codegen::TranslationUnit> lower(const DomainIr &ir, const LoweringPlan &,
                                                 std::vector<std::string> &notes) const override {
    return fuse::lower_fuse(static_cast<const fuse::FuseIr &>(ir), notes);
  }

  // Generated per rank of every array; which arguments may share memory is a request param.
  std::string argument_key(const SpecializationRequest &request) const override {
    return argument_key_text(request.args, /*with_ranks=*/true);
  }

  std::string shape_class(const SpecializationRequest &request, const std::string &entry_role) const override {
    return size_bucket_shape_class(request.args, entry_role);
  }

  // shapes(arguments..., shapes): each output's rank and dimensions;
  // call(arguments..., outputs..., shapes): the stores, written arguments in-out.
  KernelInterface kernel_interface(const DomainIr &domain_ir, const SpecializationRequest &request) const override {
    const auto &ir = static_cast<const fuse::FuseIr &>(domain_ir);
    std::vector<EntryParam> arguments = argument_params(request);
    for (const fuse::Write &write : ir.writes) {
      if (write.view.param < static_cast<int>(arguments.size())) arguments[write.view.param].role = ParamRole::kInOut;
    }
    const int64_t slots = fuse::kShapeSlots * static_cast<int64_t>(ir.outputs.size()) + 1;
    EntryParam shapes{"shapes", ParamRole::kOutput, DType::kInt64, {}};
    shapes.shape.dims = {Dimension::of_constant(slots)};
    std::vector<EntryParam> call = arguments;
    for (size_t o = 0; o < ir.outputs.size(); ++o) {
      const fuse::Output &described = ir.outputs[o];
      EntryParam output{absl::StrCat(described.returned ? "out" : "buffer", o), ParamRole::kOutput, described.type.dtype, {}};
      output.shape.shape_entry = fuse::kShapesRole;
      call.push_back(std::move(output));
    }
    EntryParam workspace = shapes;
    workspace.role = ParamRole::kWorkspace;
    call.push_back(workspace);
    arguments.push_back(shapes);
    KernelInterface interface;
    interface.entries = {{kCallRole, fuse::kCallSymbol, std::move(call)},
                         {fuse::kShapesRole, fuse::kShapesSymbol, std::move(arguments)}};
    Returns returns{ir.returns_tuple, {}};
    for (const fuse::Returned &value : ir.returns) {
      if (value.argument >= 0) {
        returns.values.push_back({ReturnedValue::Kind::kArgument, value.argument});
      } else {
        const auto kind = value.python_scalar ? ReturnedValue::Kind::kPythonScalar : ReturnedValue::Kind::kOutput;
        returns.values.push_back({kind, value.output});
      }
    }
    interface.returns = std::move(returns);
    return interface;
  }
};

}  // namespace

std::unique_ptr<Specializer> make_fuse_specializer() { return std::make_unique<FuseSpecializer>(); }

}  // namespace sejits::specializers
