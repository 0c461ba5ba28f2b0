// Service messages <-> core types. Proto service types stop here.
#pragma once

#include "absl/status/statusor.h"
#include "sejits/v1/specializer.pb.h"
#include "server/core/limits.h"
#include "server/core/specializer_core.h"

namespace sejits::server::rpc {

// Checks the request's shape against `limits` (not its meaning: the front
// ends do that): argument count, rank, extents and strides whose byte spans
// fit in 63 bits, variant parameters.
absl::StatusOr<specializers::SpecializationRequest> from_proto(const v1::SpecializeRequest &request,
                                                               const RequestLimits &limits = RequestLimits{});
// The same, moving the syntax tree out of `request` instead of copying it.
absl::StatusOr<specializers::SpecializationRequest> from_proto(v1::SpecializeRequest &&request, const RequestLimits &limits);
// For forwarding to an upstream daemon.
v1::SpecializeRequest to_proto(const specializers::SpecializationRequest &request);
void to_proto(const SpecializeResult &result, v1::SpecializeResponse &response);
void to_proto(const DaemonStats &stats, v1::Stats &response);

TuningAsk from_proto(const v1::TuningRequest &tuning);
absl::StatusOr<std::vector<VariantTiming>> from_proto(const google::protobuf::RepeatedPtrField<v1::VariantReport> &reports,
                                                      const RequestLimits &limits = RequestLimits{});
void to_proto(const TuningPlan &plan, v1::TuningPlan &response);
void to_proto(const TuningRecord &record, v1::TuningRecord &proto);
void to_proto(const TuningListing &listing, v1::TuningRecords &response);
void to_proto(const TuningImportSummary &summary, v1::ImportTuningResponse &response);

}  // namespace sejits::server::rpc
