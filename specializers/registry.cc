#include "specializers/registry.h"

#include <atomic>
#include <map>
#include <memory>
#include <vector>

#include "specializers/elementwise/factory.h"
#include "specializers/fuse/factory.h"
#include "specializers/gmm/factory.h"
#include "specializers/sparse/factory.h"
#include "specializers/reduce/factory.h"
#include "specializers/stencil/factory.h"
#include "specializers/testing/factory.h"

namespace sejits::specializers {
namespace {

// A specializer whose version() carries the test-only suffix; every phase is the wrapped one's.
class TestingVersionSuffix final : public Specializer {
 public:
  TestingVersionSuffix(std::unique_ptr<Specializer> inner, std::string suffix)
      : inner_(std::move(inner)), suffix_(std::move(suffix)) {}
  std::string name() const override { return inner_->name(); }
  std::string version() const override { return inner_->version() + suffix_; }
  absl::StatusOr<std::unique_ptr<DomainIr>> front_end(const SpecializationRequest &request) const override {
    return inner_->front_end(request);
  }
  std::unique_ptr<DomainIr> optimize(std::unique_ptr<DomainIr> ir, std::vector<std::string> &notes) const override {
    return inner_->optimize(std::move(ir), notes);
  }
  absl::StatusOr<std::unique_ptr<LoweringPlan>> plan_variant(const DomainIr &ir, const SpecializationRequest &request,
                                                             Platform platform) const override {
    return inner_->plan_variant(ir, request, platform);
  }
  absl::StatusOr<codegen::TranslationUnit> lower(const DomainIr &ir, const LoweringPlan &plan,
                                                 std::vector<std::string> &notes) const override {
    return inner_->lower(ir, plan, notes);
  }
  KernelInterface kernel_interface(const DomainIr &ir, const SpecializationRequest &request) const override {
    return inner_->kernel_interface(ir, request);
  }
  absl::StatusOr<NumpyModule> lower_numpy(const DomainIr &ir, const SpecializationRequest &request,
                                          std::vector<std::string> &notes) const override {
    return inner_->lower_numpy(ir, request, notes);
  }
  std::string argument_key(const SpecializationRequest &request) const override { return inner_->argument_key(request); }
  std::string shape_class(const SpecializationRequest &request, const std::string &entry_role) const override {
    return inner_->shape_class(request, entry_role);
  }
  tuner::TuningSpace tuning_space(const SpecializationRequest &request, const std::string &shape_class) const override {
    return inner_->tuning_space(request, shape_class);
  }
  std::map<std::string, std::string> variant_request_params(const tuner::TuningSpace &space,
                                                             const tuner::Variant &variant) const override {
    return inner_->variant_request_params(space, variant);
  }
  bool times_offline(const std::string &entry_role) const override { return inner_->times_offline(entry_role); }
  absl::StatusOr<std::vector<SyntheticArg>> synthetic_call(const SpecializationRequest &request,
                                                           DType result_dtype) const override {
    return inner_->synthetic_call(request, result_dtype);
  }

 private:
  std::unique_ptr<Specializer> inner_;
  std::string suffix_;
};

std::string &testing_suffix() {
  static std::string *const suffix = new std::string;
  return *suffix;
}
bool &test_specializers_enabled() {
  static bool enabled = false;
  return enabled;
}
std::atomic<bool> registry_built{false};

using Factory = std::unique_ptr<Specializer> (*)();

std::vector<Factory> registered_factories() {
  std::vector<Factory> factories = {make_elementwise_specializer, make_stencil_specializer, make_reduce_specializer,
                                    make_gmm_specializer, make_sparse_specializer, make_fuse_specializer};
  if (test_specializers_enabled()) factories.push_back(make_test_column_stats_specializer);
  return factories;
}

const std::map<std::string, std::unique_ptr<Specializer>> &registry() {
  static const auto *specializers = [] {
    registry_built = true;
    auto *map = new std::map<std::string, std::unique_ptr<Specializer>>;
    for (Factory factory : registered_factories()) {
      std::unique_ptr<Specializer> specializer = factory();
      if (!testing_suffix().empty()) {
        specializer = std::make_unique<TestingVersionSuffix>(std::move(specializer), testing_suffix());
      }
      std::string name = specializer->name();
      map->emplace(name, std::move(specializer));
    }
    return map;
  }();
  return *specializers;
}

}  // namespace

const Specializer *find_specializer(const std::string &name) {
  auto it = registry().find(name);
  return it == registry().end() ? nullptr : it->second.get();
}

std::vector<std::string> specializer_names() {
  std::vector<std::string> names;
  for (const auto &[name, specializer] : registry()) names.push_back(name);
  return names;
}

absl::Status set_testing_version_suffix(const std::string &suffix) {
  if (registry_built) return absl::FailedPreconditionError("the specializers are registered already");
  testing_suffix() = suffix;
  return absl::OkStatus();
}

absl::Status enable_test_specializers() {
  if (registry_built) return absl::FailedPreconditionError("the specializers are registered already");
  test_specializers_enabled() = true;
  return absl::OkStatus();
}

}  // namespace sejits::specializers
