#include "tuner-db/record_proto.h"

namespace sejits::tuner {

v1::TuningRecord record_to_proto(const TuningRecord &record) {
  v1::TuningRecord proto;
  proto.set_kernel_key(record.key.kernel_key);
  proto.set_kernel_name(record.kernel_name);
  proto.set_shape_class(record.key.shape_class);
  proto.set_platform(record.key.platform);
  proto.set_platform_description(record.platform_description);
  proto.set_origin(record.origin);
  for (const VariantStats &stats : record.variants) {
    v1::VariantTimings *timings = proto.add_variants();
    timings->set_variant(stats.label);
    timings->mutable_samples()->Add(stats.samples.begin(), stats.samples.end());
    timings->set_errors(stats.errors);
    timings->set_last_error(stats.last_error);
    timings->set_median_seconds(stats.median);
  }
  if (record.choice) {
    v1::TuningChoice *choice = proto.mutable_choice();
    choice->set_variant(record.choice->label);
    choice->set_chosen_at(record.choice->chosen_at);
    choice->set_samples(record.choice->samples);
    choice->set_reason(record.choice->reason);
  }
  return proto;
}

}  // namespace sejits::tuner
