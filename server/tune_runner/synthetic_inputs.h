// The buffers behind one kernel call's synthetic arguments, and their ABI
// descriptors.
#pragma once

#include <cstdlib>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "sejits/kernel_abi.h"
#include "server/tune_runner/arg_spec.h"

namespace sejits::tune_runner {

class SyntheticInputs {
 public:
  // Allocates every array 64-byte aligned and C-contiguous, and fills it with
  // values that depend only on its position in `specs`: floats in [0.5, 1.5),
  // integers in [1, 8), bools true. Nullopt with `error` set when memory is short.
  static std::optional<SyntheticInputs> create(const std::vector<ArgSpec> &specs, std::string *error);

  const std::vector<sejits_arg> &descriptors() const { return descriptors_; }

 private:
  struct FreeBuffer {
    void operator()(void *buffer) const { std::free(buffer); }
  };

  std::vector<std::unique_ptr<void, FreeBuffer>> buffers_;
  std::vector<sejits_arg> descriptors_;  // point into buffers_, which do not move
};

}  // namespace sejits::tune_runner
