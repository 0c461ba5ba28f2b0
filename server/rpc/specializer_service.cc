#include "server/rpc/specializer_service.h"

#include <fstream>
#include <memory>
#include <vector>

#include "server/rpc/convert.h"
#include "server/rpc/status.h"
#include "spdlog/spdlog.h"
#include "tuner-db/record_proto.h"

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
  if (grpc::Status denied = auth_.check(*context); !denied.ok()) {
    reactor->Finish(denied);
    return reactor;
  }
  auto parsed = std::make_shared<v1::SpecializeRequest>();
  if (!parse(*request, *parsed)) {
    reactor->Finish(grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                                 "the request is not a valid sejits.v1.SpecializeRequest (truncated or corrupt bytes)"));
    return reactor;
  }
  std::string client = peers_.identify(*context);
  spdlog::trace("rpc: Specialize from {}", client);
  workers_.submit(client, [this, context, parsed, response, reactor] {
    // A client that gave up (deadline, exit) or a daemon shutting down: no compile for nobody.
    if (context->IsCancelled()) {
      reactor->Finish(grpc::Status(grpc::StatusCode::CANCELLED, "the call was cancelled before it ran"));
      return;
    }
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
  auto result = core_.specialize(*core_request, SpecializeOptions{request.options().want_source(), from_proto(request.tuning())});
  if (!result.ok()) return to_grpc_status(result.status());
  to_proto(*result, response);
  return grpc::Status::OK;
}

grpc::Status SpecializerService::FetchArtifact(grpc::ServerContext *context, const v1::FetchArtifactRequest *request,
                                               grpc::ServerWriter<v1::ArtifactChunk> *writer) {
  if (grpc::Status denied = auth_.check(*context); !denied.ok()) return denied;
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

grpc::Status SpecializerService::GetStats(grpc::ServerContext *context, const v1::GetStatsRequest *, v1::Stats *response) {
  if (grpc::Status denied = auth_.check(*context); !denied.ok()) return denied;
  to_proto(core_.stats(), *response);
  response->set_clients(peers_.distinct_clients());
  return grpc::Status::OK;
}

grpc::Status SpecializerService::ReportTimings(grpc::ServerContext *context, const v1::ReportTimingsRequest *request,
                                               v1::TuningPlan *response) {
  if (grpc::Status denied = auth_.check(*context); !denied.ok()) return denied;
  auto core_request = from_proto(request->request());
  if (!core_request.ok()) return to_grpc_status(core_request.status());
  auto timings = from_proto(request->reports());
  if (!timings.ok()) return to_grpc_status(timings.status());
  auto plan = core_.report_timings(*core_request, from_proto(request->request().tuning()), *timings, request->finish());
  if (!plan.ok()) return to_grpc_status(plan.status());
  if (upstream_) {
    if (absl::Status forwarded = upstream_->report_timings(*request); !forwarded.ok()) {
      spdlog::warn("tuning: timings not passed on: {}", std::string(forwarded.message()));
    }
  }
  to_proto(*plan, *response);
  return grpc::Status::OK;
}

grpc::Status SpecializerService::ListTuning(grpc::ServerContext *context, const v1::TuningQuery *request, v1::TuningRecords *response) {
  if (grpc::Status denied = auth_.check(*context); !denied.ok()) return denied;
  auto db = core_.tuning_database();
  if (!db.ok()) return to_grpc_status(db.status());
  auto records = (*db)->list(request->kernel());
  if (!records.ok()) return to_grpc_status(records.status());
  for (const tuner::TuningRecord &record : *records) *response->add_records() = tuner::record_to_proto(record);
  response->set_database((*db)->path().string());
  response->set_platform(core_.tuning().platform().fingerprint);
  response->set_platform_description(core_.tuning().platform().description);
  return grpc::Status::OK;
}

grpc::Status SpecializerService::ImportTuning(grpc::ServerContext *context, const v1::ImportTuningRequest *request,
                                              v1::ImportTuningResponse *response) {
  if (grpc::Status denied = auth_.check(*context); !denied.ok()) return denied;
  auto db = core_.tuning_database();
  if (!db.ok()) return to_grpc_status(db.status());
  auto summary = (*db)->import_jsonl(request->jsonl(), request->source_name().substr(0, 200));
  if (!summary.ok()) return to_grpc_status(summary.status());
  response->set_imported(summary->imported);
  response->set_kept_existing(summary->kept_existing);
  response->set_malformed(summary->malformed);
  return grpc::Status::OK;
}

grpc::Status SpecializerService::ResetTuning(grpc::ServerContext *context, const v1::TuningQuery *request,
                                             v1::ResetTuningResponse *response) {
  if (grpc::Status denied = auth_.check(*context); !denied.ok()) return denied;
  auto deleted = core_.reset_tuning(request->kernel());
  if (!deleted.ok()) return to_grpc_status(deleted.status());
  response->set_deleted(*deleted);
  return grpc::Status::OK;
}

}  // namespace sejits::server::rpc
