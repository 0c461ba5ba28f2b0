// The sejits.v1.Specializer gRPC service: thin handlers over SpecializerCore.
// Specialize and ReportTimings take their requests as raw bytes: they are
// checked against the request limits before protobuf parses them (a syntax
// tree may be deeply nested), and a request that is not a valid message gets
// INVALID_ARGUMENT (gRPC's own parser would answer INTERNAL). A cache hit is
// answered on gRPC's thread, and a repeated one from the HitMemo without
// parsing; anything else runs on a worker pool because it may wait for a
// compile, and the pool takes each client's requests in turn.
#pragma once

#include "sejits/v1/specializer.grpc.pb.h"
#include "server/core/fair_worker_pool.h"
#include "server/core/limits.h"
#include "server/core/specializer_core.h"
#include "server/rpc/auth.h"
#include "server/rpc/hit_memo.h"
#include "server/rpc/peers.h"
#include "server/rpc/upstream_client.h"

namespace sejits::server::rpc {

using RawService = v1::Specializer::WithRawCallbackMethod_Specialize<
    v1::Specializer::WithRawCallbackMethod_ReportTimings<v1::Specializer::Service>>;

class SpecializerService final : public RawService {
 public:
  // `upstream` (may be null) also receives the clients' timing reports.
  SpecializerService(SpecializerCore &core, const TokenCheck &auth, PeerRegistry &peers, UpstreamClient *upstream,
                     const RequestLimits &limits)
      : core_(core),
        auth_(auth),
        peers_(peers),
        upstream_(upstream),
        limits_(limits),
        workers_(kWorkers, limits.max_running_per_client, limits.max_queued_per_client) {}

  grpc::ServerUnaryReactor *Specialize(grpc::CallbackServerContext *context, const grpc::ByteBuffer *request,
                                       grpc::ByteBuffer *response) override;
  grpc::Status FetchArtifact(grpc::ServerContext *context, const v1::FetchArtifactRequest *request,
                             grpc::ServerWriter<v1::ArtifactChunk> *writer) override;
  grpc::Status GetStats(grpc::ServerContext *context, const v1::GetStatsRequest *request, v1::Stats *response) override;
  grpc::ServerUnaryReactor *ReportTimings(grpc::CallbackServerContext *context, const grpc::ByteBuffer *request,
                                          grpc::ByteBuffer *response) override;
  grpc::Status ListTuning(grpc::ServerContext *context, const v1::TuningQuery *request, v1::TuningRecords *response) override;
  grpc::Status ImportTuning(grpc::ServerContext *context, const v1::ImportTuningRequest *request,
                            v1::ImportTuningResponse *response) override;
  grpc::Status ResetTuning(grpc::ServerContext *context, const v1::TuningQuery *request,
                           v1::ResetTuningResponse *response) override;

 private:
  grpc::Status report_timings(const v1::ReportTimingsRequest &request, v1::TuningPlan &response);
  // Answers a plain cache hit and remembers the reply for the same bytes.
  void answer_and_remember_hit(const SpecializeResult &hit, absl::string_view request, grpc::ByteBuffer *response);
  // Answers `request` from the memo when the same bytes were a hit before
  // and the artifact is still stored; false: take the full path.
  bool answer_repeated_hit(absl::string_view request, grpc::ByteBuffer *response);

  SpecializerCore &core_;
  const TokenCheck &auth_;
  PeerRegistry &peers_;
  UpstreamClient *upstream_;
  const RequestLimits limits_;
  static constexpr int kWorkers = 32;
  FairWorkerPool workers_;
  HitMemo hits_;
};

}  // namespace sejits::server::rpc
