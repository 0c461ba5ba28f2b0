// The sejits.v1.Specializer gRPC service: thin handlers over SpecializerCore.
// Specialize takes its request as raw bytes so that a request that is not a
// valid protobuf message gets INVALID_ARGUMENT (gRPC's own parser would answer
// INTERNAL), and runs on a worker pool because it may wait for a compile;
// the pool takes each client's requests in turn.
#pragma once

#include "sejits/v1/specializer.grpc.pb.h"
#include "server/core/fair_worker_pool.h"
#include "server/core/specializer_core.h"
#include "server/rpc/auth.h"
#include "server/rpc/peers.h"
#include "server/rpc/upstream_client.h"

namespace sejits::server::rpc {

class SpecializerService final : public v1::Specializer::WithRawCallbackMethod_Specialize<v1::Specializer::Service> {
 public:
  // `upstream` (may be null) also receives the clients' timing reports.
  SpecializerService(SpecializerCore &core, const TokenCheck &auth, PeerRegistry &peers, UpstreamClient *upstream)
      : core_(core), auth_(auth), peers_(peers), upstream_(upstream) {}

  grpc::ServerUnaryReactor *Specialize(grpc::CallbackServerContext *context, const grpc::ByteBuffer *request,
                                       grpc::ByteBuffer *response) override;
  grpc::Status FetchArtifact(grpc::ServerContext *context, const v1::FetchArtifactRequest *request,
                             grpc::ServerWriter<v1::ArtifactChunk> *writer) override;
  grpc::Status GetStats(grpc::ServerContext *context, const v1::GetStatsRequest *request, v1::Stats *response) override;
  grpc::Status ReportTimings(grpc::ServerContext *context, const v1::ReportTimingsRequest *request,
                             v1::TuningPlan *response) override;
  grpc::Status ListTuning(grpc::ServerContext *context, const v1::TuningQuery *request, v1::TuningRecords *response) override;
  grpc::Status ImportTuning(grpc::ServerContext *context, const v1::ImportTuningRequest *request,
                            v1::ImportTuningResponse *response) override;
  grpc::Status ResetTuning(grpc::ServerContext *context, const v1::TuningQuery *request,
                           v1::ResetTuningResponse *response) override;

 private:
  grpc::Status specialize(const v1::SpecializeRequest &request, v1::SpecializeResponse &response);

  SpecializerCore &core_;
  const TokenCheck &auth_;
  PeerRegistry &peers_;
  UpstreamClient *upstream_;
  FairWorkerPool workers_{kWorkers, kWorkersPerClient};
  static constexpr int kWorkers = 32, kWorkersPerClient = 8;
};

}  // namespace sejits::server::rpc
