// Parses the runner's argument specs ("array:float64:3x4", "scalar:int32:7")
// into the description of one synthetic kernel argument.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "sejits/kernel_abi.h"

namespace sejits::tune_runner {

// A tuning request must not be able to make the runner exhaust the machine's memory.
inline constexpr int64_t kMaxArrayBytes = int64_t{8} << 30;
inline constexpr int64_t kMaxDimension = int64_t{1} << 40;

struct ArgSpec {
  sejits_arg_kind kind = SEJITS_ARG_ARRAY;
  sejits_dtype dtype = SEJITS_FLOAT64;
  int64_t itemsize = 0;
  std::vector<int64_t> shape;             // arrays only; empty for rank 0 (one element)
  int64_t element_count = 0;              // arrays only
  decltype(sejits_arg::scalar) scalar{};  // scalars only, in the member the ABI reads for `dtype`
};

// The spec, or nullopt with a message that quotes it in `error`. Arrays over
// kMaxArrayBytes, dimensions over kMaxDimension, ranks over SEJITS_MAX_RANK
// and scalars that do not fit their dtype are refused.
std::optional<ArgSpec> parse_arg_spec(std::string_view text, std::string *error);

}  // namespace sejits::tune_runner
