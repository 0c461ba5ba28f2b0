#include "specializers/elementwise/plan.h"

#include <string>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"

namespace sejits::specializers::elementwise {
namespace {

constexpr char kName[] = "elementwise";
constexpr int64_t kMaxUnroll = 16;
constexpr int64_t kMaxChunk = int64_t{1} << 30;
constexpr int64_t kMaxSpinMicroseconds = 1000000;
constexpr int64_t kHugeSize = int64_t{1} << 62;

// The size of the call's loop as the shape class buckets it
// ("call:<bits of each extent>:<layout>"): every call of one class, hence one
// tuning record, gets the same space. The smallest size of the bucket.
int64_t bucketed_elements(const std::string &shape_class) {
  std::vector<std::string> fields = absl::StrSplit(shape_class, ':');
  if (fields.size() != 3) return 0;
  int64_t elements = 1;
  for (absl::string_view bits : absl::StrSplit(fields[1], 'x')) {
    int exponent = 0;
    if (!absl::SimpleAtoi(bits, &exponent) || exponent < 1 || exponent > 62) return 0;  // 0: an empty axis
    const int64_t extent = int64_t{1} << (exponent - 1);
    elements = elements > kHugeSize / extent ? kHugeSize : elements * extent;
  }
  return elements;
}

}  // namespace

absl::StatusOr<ElementwisePlan> parse_plan(const std::map<std::string, std::string> &params) {
  ElementwisePlan plan;
  if (auto slow = params.find(kTestSlowDefaultParam); slow != params.end()) {
    absl::StatusOr<int64_t> spin = parse_variant_int(kName, slow->first, slow->second, 0, kMaxSpinMicroseconds);
    if (!spin.ok()) return spin.status();
    plan.spin_us = *spin;
  }
  for (const auto &[name, value] : params) {
    if (!is_variant_param(name)) continue;
    const std::string field = name.substr(sizeof(kVariantPrefix) - 1);
    absl::Status status;
    if (field == "threads") {
      absl::StatusOr<ThreadCount> threads = parse_thread_count(kName, name, value);
      if (threads.ok()) plan.threads = *threads;
      status = threads.status();
    } else if (field == "streaming_stores") {
      absl::StatusOr<bool> flag = parse_variant_flag(kName, name, value);
      if (flag.ok()) plan.streaming_stores = *flag;
      status = flag.status();
    } else {
      int64_t *target = field == "parallel_threshold" ? &plan.parallel_threshold
                        : field == "chunk"            ? &plan.chunk
                        : field == "unroll"           ? &plan.unroll
                        : field == "spin_us"          ? &plan.spin_us
                                                      : nullptr;
      if (target == nullptr) {
        return absl::InvalidArgumentError(absl::StrCat("unknown elementwise variant parameter '", name.substr(0, 48), "'"));
      }
      const int64_t min = field == "unroll" ? 1 : 0;
      const int64_t max = field == "unroll" ? kMaxUnroll : field == "spin_us" ? kMaxSpinMicroseconds : kMaxChunk;
      absl::StatusOr<int64_t> parsed = parse_variant_int(kName, name, value, min, max);
      if (parsed.ok()) *target = *parsed;
      status = parsed.status();
    }
    if (!status.ok()) return status;
  }
  return plan;
}

tuner::TuningSpace tuning_space(const SpecializationRequest &request, const std::string &shape_class) {
  tuner::TuningSpace space;
  if (auto slow = request.params.find(kTestSlowDefaultParam); slow != request.params.end()) {
    space.parameters.push_back({"spin_us", {slow->second, "0"}, slow->second});
  }
  const int64_t elements = bucketed_elements(shape_class);
  space.parameters.push_back({"threads", {"all", "half", "1"}, "all"});
  // Only outputs near the streaming size are written either way.
  if (elements * 8 >= kStreamingOutputBytes / 2) space.parameters.push_back({"streaming_stores", {"1", "0"}, "1"});
  space.parameters.push_back({"chunk", {"0", "4096", "65536"}, "0"});
  space.parameters.push_back({"unroll", {"1", "2", "4"}, "1"});
  // The threshold only decides anything for calls near it.
  if (elements < 16 * kParallelThreshold) {
    space.parameters.push_back(
        {"parallel_threshold", {absl::StrCat(kParallelThreshold / 4), absl::StrCat(kParallelThreshold), absl::StrCat(kParallelThreshold * 4)},
         absl::StrCat(kParallelThreshold)});
  }
  return space;
}

}  // namespace sejits::specializers::elementwise
