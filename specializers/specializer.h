// The interface every domain specializer implements: one method per phase of
// the pipeline (see pipeline.cc for the order).
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "codegen/target_ast.h"
#include "specializers/interface.h"
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
  // Domain IR -> platform IR (the target AST), for request.platform.
  virtual absl::StatusOr<codegen::TranslationUnit> lower(const DomainIr &ir, const SpecializationRequest &request,
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
  // The code variants worth timing for this request and shape class (as the
  // client computes it: "<entry>:<size buckets>:<layout>"); empty when there
  // is nothing to tune. Each parameter is a "variant.<name>" request param.
  virtual tuner::TuningSpace tuning_space(const SpecializationRequest &, const std::string & /*shape_class*/) const {
    return {};
  }
};

}  // namespace sejits::specializers
