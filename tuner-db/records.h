// What the tuning database stores, as plain values.
#pragma once

#include <cstdint>
#include <optional>
#include <tuple>
#include <string>
#include <vector>

#include "tuner-db/variant.h"

namespace sejits::tuner {

// Which measurements belong together: one kernel (its request key without
// variant params), one shape class (e.g. "call:12x12:c"), one platform.
struct TuningKey {
  std::string kernel_key;
  std::string shape_class;
  std::string platform;  // fingerprint (hex), see platform.h

  bool operator<(const TuningKey &other) const {
    return std::tie(kernel_key, shape_class, platform) < std::tie(other.kernel_key, other.shape_class, other.platform);
  }
};

struct VariantStats {
  std::string label;         // variant_label(variant)
  std::vector<double> samples;  // seconds per call, oldest first
  int64_t errors = 0;
  std::string last_error;
  double median = 0;         // of samples; 0 when none
  double min = 0;
  double mean = 0;
};

struct Choice {
  std::string label;
  std::string chosen_at;     // UTC, ISO 8601
  int64_t samples = 0;       // samples of all variants the choice was made from
  std::string reason;        // "search complete", "budget spent", "imported", ...
};

struct TuningRecord {
  TuningKey key;
  std::string kernel_name;           // the Python function, for people
  std::string platform_description;  // CPU model, cores, features digest, compiler, device
  std::string origin;                // "local" or "imported from <host> at <time>"
  std::vector<VariantStats> variants;  // sorted by label
  std::optional<Choice> choice;

  const VariantStats *find(const std::string &label) const;
};

}  // namespace sejits::tuner
