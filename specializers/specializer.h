// The interface every domain specializer implements: one method per phase of
// the pipeline (see pipeline.cc for the order).
#pragma once

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "codegen/target_ast.h"
#include "specializers/common/variant_params.h"
#include "specializers/interface.h"
#include "specializers/platforms.h"
#include "specializers/request.h"
#include "tuner-db/variant.h"

namespace sejits::specializers {

// A specializer's domain IR (DSIR); each domain defines its own.
class DomainIr {
 public:
  virtual ~DomainIr() = default;
  virtual std::string describe() const = 0;  // one line, for debug logs
};

// A kernel printed as a Python module (the "numpy" platform).
struct NumpyModule {
  std::string source;        // the module's text
  std::string entry_symbol;  // its function `entry(args, out)`
};

// The code variant a request selects for one platform, in the domain's own
// terms (its "variant.*" params parsed, defaults filled in): chosen as a
// phase of its own so that the pipeline shows it, then handed to lower().
class LoweringPlan {
 public:
  virtual ~LoweringPlan() = default;
  virtual std::string describe() const = 0;  // one line, for debug logs
};

// One argument the offline timing child makes up for a call: an array of
// this shape, or a scalar.
struct SyntheticArg {
  ArgKind kind = ArgKind::kArray;
  DType dtype = DType::kFloat64;
  std::vector<int64_t> shape;
};

class Specializer {
 public:
  virtual ~Specializer() = default;
  virtual std::string name() const = 0;
  // Bumped whenever generated code changes for the same request: part of the key.
  virtual std::string version() const = 0;

  // Python AST (proto) -> domain IR. Rejections name the construct and line.
  virtual absl::StatusOr<std::unique_ptr<DomainIr>> front_end(const SpecializationRequest &request) const = 0;
  // Domain optimizations; returns the same object when nothing changed.
  virtual std::unique_ptr<DomainIr> optimize(std::unique_ptr<DomainIr> ir, std::vector<std::string> &notes) const = 0;
  // The code variant of `platform` (kCpuOpenMp or kOpenCl) that the
  // request's "variant.*" params select; INVALID_ARGUMENT for a bad one.
  virtual absl::StatusOr<std::unique_ptr<LoweringPlan>> plan_variant(const DomainIr &ir, const SpecializationRequest &request,
                                                                     Platform platform) const = 0;
  // Domain IR -> platform IR (the target AST), as `plan` (from plan_variant) says.
  virtual absl::StatusOr<codegen::TranslationUnit> lower(const DomainIr &ir, const LoweringPlan &plan,
                                                         std::vector<std::string> &notes) const = 0;
  // Every entry point an artifact of this request may have, in the order
  // callers look for them (the first is "call"). The pipeline keeps those the
  // lowering emitted.
  virtual KernelInterface kernel_interface(const DomainIr &ir, const SpecializationRequest &request) const = 0;
  // Domain IR -> a Python module of vectorized NumPy (the "numpy" platform):
  // whole-array operations, no compiler. FAILED_PRECONDITION ("no vectorized
  // NumPy form: ...") where the kernel has none.
  virtual absl::StatusOr<NumpyModule> lower_numpy(const DomainIr &, const SpecializationRequest &,
                                                  std::vector<std::string> & /*notes*/) const {
    return absl::FailedPreconditionError(absl::StrCat("no vectorized NumPy form: the ", name(), " specializer has no NumPy printer"));
  }

  // ---- What the daemon's core asks of a domain (it names none) ----------

  // The arguments' contribution to the request key: what of each argument
  // the generated code depends on (a rank, for code generated per rank).
  virtual std::string argument_key(const SpecializationRequest &request) const = 0;
  // The tuning shape class of calls of the entry `entry_role` (e.g. "call")
  // with the request's arguments: calls of one class share a tuning record.
  // Computed here only; clients never build it.
  virtual std::string shape_class(const SpecializationRequest &request, const std::string &entry_role) const = 0;
  // The code variants worth timing for this request and shape class (from
  // shape_class()); empty when there is nothing to tune.
  virtual tuner::TuningSpace tuning_space(const SpecializationRequest &, const std::string & /*shape_class*/) const {
    return {};
  }
  // The request params that select `variant` of `space` (defaults omitted,
  // so that the default variant has the plain request's key). Plans carry
  // them to the client, which derives nothing.
  virtual std::map<std::string, std::string> variant_request_params(const tuner::TuningSpace &space,
                                                                     const tuner::Variant &variant) const {
    return default_variant_request_params(space, variant);
  }
  // Whether the daemon's timing child can time calls of `entry_role` on
  // synthetic inputs (else the client times them on its own calls).
  virtual bool times_offline(const std::string & /*entry_role*/) const { return false; }
  // The arguments, output last, that the timing child makes up for a call
  // like the request's whose result has `result_dtype`.
  virtual absl::StatusOr<std::vector<SyntheticArg>> synthetic_call(const SpecializationRequest &, DType /*result_dtype*/) const {
    return absl::UnimplementedError(absl::StrCat("the ", name(), " specializer has no synthetic inputs for offline timing"));
  }
};

}  // namespace sejits::specializers
