// Tuning records as sejits.v1.TuningRecord messages: the rows of the
// ListTuning RPC and of `sejits tune export`.
#pragma once

#include "sejits/v1/tuning.pb.h"
#include "tuner-db/records.h"

namespace sejits::tuner {

v1::TuningRecord record_to_proto(const TuningRecord &record);

}  // namespace sejits::tuner
