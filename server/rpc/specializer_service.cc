#include "server/rpc/specializer_service.h"

#include <fstream>
#include <memory>
#include <vector>

#include "server/rpc/convert.h"
#include "server/rpc/status.h"

namespace sejits::server::rpc {
namespace {
constexpr size_t kChunkBytes = 256 * 1024;
}

namespace {

bool parse(const grpc::ByteBuffer &bytes, google::protobuf::Message &message) {
  std::vector<grpc::Slice> slices;
  if (!bytes.Dump(&slices).ok()) return false;
  std::string data;
  for (const auto &slice : slices) data.append(reinterpret_cast<const char *>(slice.begin()), slice.size());
  return message.ParseFromString(data);
}

}  // namespace

grpc::ServerUnaryReactor *SpecializerService::Specialize(grpc::CallbackServerContext *context,
                                                         const grpc::ByteBuffer *request, grpc::ByteBuffer *response) {
  grpc::ServerUnaryReactor *reactor = context->DefaultReactor();
  auto parsed = std::make_shared<v1::SpecializeRequest>();
  if (!parse(*request, *parsed)) {
    reactor->Finish(grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                                 "the request is not a valid sejits.v1.SpecializeRequest (truncated or corrupt bytes)"));
    return reactor;
  }
  workers_.submit([this, parsed, response, reactor] {
    v1::SpecializeResponse reply;
    grpc::Status status = specialize(*parsed, reply);
    if (status.ok()) {
      bool own_buffer = false;
      status = grpc::SerializationTraits<v1::SpecializeResponse>::Serialize(reply, response, &own_buffer);
    }
    reactor->Finish(status);
  });
  return reactor;
}

grpc::Status SpecializerService::specialize(const v1::SpecializeRequest &request, v1::SpecializeResponse &response) {
  auto core_request = from_proto(request);
  if (!core_request.ok()) return to_grpc_status(core_request.status());
  auto result = core_.specialize(*core_request, SpecializeOptions{request.options().want_source()});
  if (!result.ok()) return to_grpc_status(result.status());
  to_proto(*result, response);
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
