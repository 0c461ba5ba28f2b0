// What the pipeline is asked to specialize, and what it produces. Core-side
// types: the RPC layer converts the service messages into these.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "sejits/v1/ast.pb.h"
#include "specializers/common/dtype.h"
#include "specializers/platforms.h"

namespace sejits::specializers {

enum class ArgKind { kArray = 1, kScalar = 2 };

struct ArgSpec {
  ArgKind kind = ArgKind::kArray;
  int32_t dtype_code = 0;  // DType, unchecked: front ends validate
  bool weak = false;       // a Python scalar
  int32_t rank = 0;
  std::vector<int64_t> shape;
  std::vector<int64_t> strides;
  bool c_contiguous = true;
};

// The machine the kernel will run on, as the client reports it (empty: the
// daemon's own machine).
struct WorkerPlatform {
  std::string machine, os, libc, isa_level, cpu_digest;
};

struct SpecializationRequest {
  std::string specializer;
  std::shared_ptr<const v1::FunctionAst> function;  // absent for library specializers
  std::vector<ArgSpec> args;
  std::string platform = kDefaultPlatform;  // specializers/platforms.h
  std::map<std::string, std::string> params;
  WorkerPlatform worker;
};

}  // namespace sejits::specializers
