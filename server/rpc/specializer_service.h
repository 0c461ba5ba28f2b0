// The sejits.v1.Specializer gRPC service: thin handlers over SpecializerCore.
#pragma once

#include "sejits/v1/specializer.grpc.pb.h"
#include "server/core/specializer_core.h"

namespace sejits::server::rpc {

class SpecializerService final : public v1::Specializer::Service {
 public:
  explicit SpecializerService(SpecializerCore &core) : core_(core) {}

  grpc::Status Specialize(grpc::ServerContext *context, const v1::SpecializeRequest *request,
                          v1::SpecializeResponse *response) override;
  grpc::Status FetchArtifact(grpc::ServerContext *context, const v1::FetchArtifactRequest *request,
                             grpc::ServerWriter<v1::ArtifactChunk> *writer) override;
  grpc::Status GetStats(grpc::ServerContext *context, const v1::GetStatsRequest *request, v1::Stats *response) override;

 private:
  SpecializerCore &core_;
};

}  // namespace sejits::server::rpc
