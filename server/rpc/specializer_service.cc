#include "server/rpc/specializer_service.h"

#include <fstream>
#include <memory>
#include <vector>

#include "absl/strings/str_cat.h"
#include "google/protobuf/io/coded_stream.h"
#include "server/rpc/convert.h"
#include "server/rpc/request_shape.h"
#include "server/rpc/status.h"
#include "specializers/platforms.h"
#include "spdlog/spdlog.h"

namespace sejits::server::rpc {
namespace {

constexpr size_t kChunkBytes = 256 * 1024;

// The request's bytes in one piece: gRPC's own slice when it has only one.
class RequestBytes {
 public:
  explicit RequestBytes(const grpc::ByteBuffer &buffer) {
    if (buffer.TrySingleSlice(&single_).ok()) {
      view_ = absl::string_view(reinterpret_cast<const char *>(single_.begin()), single_.size());
      readable_ = true;
      return;
    }
    std::vector<grpc::Slice> slices;
    if (!buffer.Dump(&slices).ok()) return;
    for (const auto &slice : slices) joined_.append(reinterpret_cast<const char *>(slice.begin()), slice.size());
    view_ = joined_;
    readable_ = true;
  }
  bool readable() const { return readable_; }
  absl::string_view view() const { return view_; }

 private:
  grpc::Slice single_;
  std::string joined_;
  absl::string_view view_;
  bool readable_ = false;
};

// The request's bytes, checked against the limits before protobuf's
// recursive parser sees them, then parsed with a recursion limit that just
// fits the measured nesting.
grpc::Status parse(const RequestBytes &bytes, google::protobuf::Message &message, const RequestLimits &limits) {
  if (!bytes.readable()) return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, "unreadable request bytes");
  const absl::string_view data = bytes.view();
  auto shape = measure_request(data, *message.GetDescriptor(), limits);
  if (!shape.ok()) return to_grpc_status(shape.status());
  google::protobuf::io::CodedInputStream input(reinterpret_cast<const uint8_t *>(data.data()), static_cast<int>(data.size()));
  input.SetRecursionLimit(shape->message_depth + 2);
  if (!message.ParseFromCodedStream(&input)) {
    return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                        absl::StrCat("the request is not a valid ", message.GetDescriptor()->full_name(),
                                     " (truncated or corrupt bytes, or a field of the wrong type)"));
  }
  return grpc::Status::OK;
}

grpc::Status serialize(const google::protobuf::Message &reply, grpc::ByteBuffer *response) {
  bool own_buffer = false;
  return grpc::SerializationTraits<google::protobuf::Message>::Serialize(reply, response, &own_buffer);
}

grpc::Status answer(const SpecializeResult &result, grpc::ByteBuffer *response) {
  v1::SpecializeResponse reply;
  to_proto(result, reply);
  return serialize(reply, response);
}

void answer_bytes(std::string reply, grpc::ByteBuffer *response) {
  grpc::Slice slice(std::move(reply));
  *response = grpc::ByteBuffer(&slice, 1);
}

}  // namespace

grpc::ServerUnaryReactor *SpecializerService::Specialize(grpc::CallbackServerContext *context,
                                                         const grpc::ByteBuffer *request, grpc::ByteBuffer *response) {
  grpc::ServerUnaryReactor *reactor = context->DefaultReactor();
  if (grpc::Status denied = auth_.check(*context); !denied.ok()) {
    reactor->Finish(denied);
    return reactor;
  }
  std::string client = peers_.identify(*context);
  spdlog::trace("rpc: Specialize from {}", client);
  const RequestBytes bytes(*request);
  if (bytes.readable() && answer_repeated_hit(bytes.view(), response)) {
    reactor->Finish(grpc::Status::OK);
    return reactor;
  }
  v1::SpecializeRequest parsed;
  if (grpc::Status parsed_ok = parse(bytes, parsed, limits_); !parsed_ok.ok()) {
    ++core_.counters().rejected;
    spdlog::info("rpc: refused a request from {}: {}", client, parsed_ok.error_message());
    reactor->Finish(parsed_ok);
    return reactor;
  }
  const SpecializeOptions options{parsed.options().want_source(), from_proto(parsed.tuning())};
  auto core_request = from_proto(std::move(parsed), limits_);
  if (!core_request.ok()) {
    ++core_.counters().rejected;
    reactor->Finish(to_grpc_status(core_request.status()));
    return reactor;
  }
  // A NumPy module is printed, never compiled: answered here, on gRPC's
  // thread, at once, even while this client's compiles fill its worker slots
  // (the client runs it while the native kernel compiles).
  if (core_request->platform == specializers::kNumpyPlatform) {
    auto result = core_.specialize(*core_request, options);
    reactor->Finish(result.ok() ? answer(*result, response) : to_grpc_status(result.status()));
    return reactor;
  }
  // A plain cache hit is answered here, on gRPC's thread: it never waits
  // for a worker (nor behind another client's compiles).
  if (std::optional<SpecializeResult> hit = core_.serve_if_cached(*core_request, options)) {
    answer_and_remember_hit(*hit, bytes.view(), response);
    reactor->Finish(grpc::Status::OK);
    return reactor;
  }
  auto shared_request = std::make_shared<specializers::SpecializationRequest>(std::move(*core_request));
  bool queued = workers_.submit(client, [this, context, shared_request, options, response, reactor] {
    // A client that gave up (deadline, exit) or a daemon shutting down: no compile for nobody.
    if (context->IsCancelled()) {
      reactor->Finish(grpc::Status(grpc::StatusCode::CANCELLED, "the call was cancelled before it ran"));
      return;
    }
    auto result = core_.specialize(*shared_request, options);
    reactor->Finish(result.ok() ? answer(*result, response) : to_grpc_status(result.status()));
  });
  if (!queued) {
    ++core_.counters().rejected;
    spdlog::warn("rpc: {} has {} Specialize calls waiting; refusing more (--max_queued_per_client)", client,
                 limits_.max_queued_per_client);
    reactor->Finish(grpc::Status(grpc::StatusCode::RESOURCE_EXHAUSTED,
                                 absl::StrCat("this client already has ", limits_.max_queued_per_client,
                                              " Specialize calls waiting (--max_queued_per_client)")));
  }
  return reactor;
}

void SpecializerService::answer_and_remember_hit(const SpecializeResult &hit, absl::string_view request,
                                                 grpc::ByteBuffer *response) {
  v1::SpecializeResponse reply;
  to_proto(hit, reply);
  reply.clear_specialize_seconds();
  std::string reply_bytes = reply.SerializeAsString();
  hits_.remember(request, HitMemo::Answer{hit.artifact.digest, reply_bytes});
  append_specialize_seconds(reply_bytes, hit.elapsed_seconds);
  answer_bytes(std::move(reply_bytes), response);
}

bool SpecializerService::answer_repeated_hit(absl::string_view request, grpc::ByteBuffer *response) {
  const absl::Time start = absl::Now();
  std::shared_ptr<const HitMemo::Answer> memo = hits_.find(request);
  if (!memo) return false;
  if (!core_.confirm_hit(memo->artifact_digest)) {
    hits_.forget(request);
    return false;
  }
  std::string reply = memo->reply;
  append_specialize_seconds(reply, absl::ToDoubleSeconds(absl::Now() - start));
  answer_bytes(std::move(reply), response);
  return true;
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

grpc::ServerUnaryReactor *SpecializerService::ReportTimings(grpc::CallbackServerContext *context,
                                                            const grpc::ByteBuffer *request, grpc::ByteBuffer *response) {
  grpc::ServerUnaryReactor *reactor = context->DefaultReactor();
  grpc::Status status = auth_.check(*context);
  v1::ReportTimingsRequest parsed;
  if (status.ok()) status = parse(RequestBytes(*request), parsed, limits_);
  v1::TuningPlan reply;
  if (status.ok()) status = report_timings(parsed, reply);
  if (status.ok()) status = serialize(reply, response);
  reactor->Finish(status);
  return reactor;
}

grpc::Status SpecializerService::report_timings(const v1::ReportTimingsRequest &request, v1::TuningPlan &response) {
  auto core_request = from_proto(request.request(), limits_);
  if (!core_request.ok()) return to_grpc_status(core_request.status());
  auto timings = from_proto(request.reports(), limits_);
  if (!timings.ok()) return to_grpc_status(timings.status());
  auto plan = core_.report_timings(*core_request, from_proto(request.request().tuning()), *timings, request.finish());
  if (!plan.ok()) return to_grpc_status(plan.status());
  if (upstream_) {
    if (absl::Status forwarded = upstream_->report_timings(request); !forwarded.ok()) {
      spdlog::warn("tuning: timings not passed on: {}", std::string(forwarded.message()));
    }
  }
  to_proto(*plan, response);
  return grpc::Status::OK;
}

grpc::Status SpecializerService::ListTuning(grpc::ServerContext *context, const v1::TuningQuery *request, v1::TuningRecords *response) {
  if (grpc::Status denied = auth_.check(*context); !denied.ok()) return denied;
  auto listing = core_.tuning().list(request->kernel());
  if (!listing.ok()) return to_grpc_status(listing.status());
  to_proto(*listing, *response);
  return grpc::Status::OK;
}

grpc::Status SpecializerService::ImportTuning(grpc::ServerContext *context, const v1::ImportTuningRequest *request,
                                              v1::ImportTuningResponse *response) {
  if (grpc::Status denied = auth_.check(*context); !denied.ok()) return denied;
  auto summary = core_.tuning().import(request->jsonl(), request->source_name().substr(0, 200));
  if (!summary.ok()) return to_grpc_status(summary.status());
  to_proto(*summary, *response);
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
