#include "tuner-db/records.h"

#include <algorithm>

namespace sejits::tuner {

const VariantStats *TuningRecord::find(const std::string &label) const {
  auto it =
      std::find_if(variants.begin(), variants.end(), [&](const VariantStats &stats) { return stats.label == label; });
  return it == variants.end() ? nullptr : &*it;
}

}  // namespace sejits::tuner
