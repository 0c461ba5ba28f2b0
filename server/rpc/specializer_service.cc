#include "server/rpc/specializer_service.h"

#include <fstream>

#include "server/rpc/convert.h"
#include "server/rpc/status.h"

namespace sejits::server::rpc {
namespace {
constexpr size_t kChunkBytes = 256 * 1024;
}

grpc::Status SpecializerService::Specialize(grpc::ServerContext *, const v1::SpecializeRequest *request,
                                            v1::SpecializeResponse *response) {
  auto core_request = from_proto(*request);
  if (!core_request.ok()) return to_grpc_status(core_request.status());
  auto result = core_.specialize(*core_request, SpecializeOptions{request->options().want_source()});
  if (!result.ok()) return to_grpc_status(result.status());
  to_proto(*result, *response);
  return grpc::Status::OK;
}

grpc::Status SpecializerService::FetchArtifact(grpc::ServerContext *context, const v1::FetchArtifactRequest *request,
                                               grpc::ServerWriter<v1::ArtifactChunk> *writer) {
  auto blob = core_.artifact(request->digest());
  if (!blob.ok()) return to_grpc_status(blob.status());
  std::ifstream in(blob->path, std::ios::binary);
  if (!in) return grpc::Status(grpc::StatusCode::NOT_FOUND, "artifact disappeared while being sent");
  std::string buffer(kChunkBytes, '\0');
  v1::ArtifactChunk chunk;
  chunk.set_total_bytes(blob->bytes);
  while (in && !context->IsCancelled()) {
    in.read(buffer.data(), static_cast<std::streamsize>(buffer.size()));
    if (in.gcount() <= 0) break;
    chunk.set_data(buffer.data(), static_cast<size_t>(in.gcount()));
    if (!writer->Write(chunk)) break;
  }
  return grpc::Status::OK;
}

grpc::Status SpecializerService::GetStats(grpc::ServerContext *, const v1::GetStatsRequest *, v1::Stats *response) {
  to_proto(core_.stats(), *response);
  return grpc::Status::OK;
}

}  // namespace sejits::server::rpc
