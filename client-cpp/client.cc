#include "client-cpp/client.h"

#include <fstream>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "codegen/atomic_file.h"
#include "codegen/sha256.h"
#include "grpcpp/grpcpp.h"

namespace sejits::client {
namespace {

absl::Status from_grpc(const grpc::Status &status) {
  return absl::Status(static_cast<absl::StatusCode>(status.error_code()), status.error_message());
}

}  // namespace

Client::Client(std::shared_ptr<grpc::Channel> channel, ConnectOptions options)
    : channel_(std::move(channel)), options_(std::move(options)), stub_(v1::Specializer::NewStub(channel_)) {}

absl::StatusOr<std::unique_ptr<Client>> Client::connect(const std::string &address, const ConnectOptions &options) {
  std::string target = address;
  if (absl::StartsWith(address, "tcp://")) target = address.substr(6);
  else if (!absl::StartsWith(address, "unix:")) return absl::InvalidArgumentError(absl::StrCat("bad daemon address '", address, "' (unix:/path or tcp://host:port)"));
  std::shared_ptr<grpc::ChannelCredentials> credentials = grpc::InsecureChannelCredentials();
  if (!options.tls_ca_file.empty()) {
    auto roots = codegen::read_file(options.tls_ca_file);
    if (!roots.ok()) return absl::FailedPreconditionError(absl::StrCat("cannot read the TLS CA file: ", roots.status().message()));
    grpc::SslCredentialsOptions ssl;
    ssl.pem_root_certs = *roots;
    credentials = grpc::SslCredentials(ssl);
  }
  auto channel = grpc::CreateChannel(target, credentials);
  return std::unique_ptr<Client>(new Client(std::move(channel), options));
}

std::unique_ptr<grpc::ClientContext> Client::context() const {
  auto context = std::make_unique<grpc::ClientContext>();
  if (!options_.token.empty()) context->AddMetadata("authorization", "Bearer " + options_.token);
  context->set_deadline(absl::ToChronoTime(absl::Now() + options_.deadline));
  return context;
}

absl::StatusOr<v1::SpecializeResponse> Client::specialize(const v1::SpecializeRequest &request) {
  v1::SpecializeResponse response;
  grpc::Status status = stub_->Specialize(context().get(), request, &response);
  if (!status.ok()) return from_grpc(status);
  return response;
}

absl::StatusOr<v1::TuningPlan> Client::report_timings(const v1::ReportTimingsRequest &request) {
  v1::TuningPlan response;
  grpc::Status status = stub_->ReportTimings(context().get(), request, &response);
  if (!status.ok()) return from_grpc(status);
  return response;
}

absl::StatusOr<v1::Stats> Client::stats() {
  v1::Stats response;
  grpc::Status status = stub_->GetStats(context().get(), v1::GetStatsRequest(), &response);
  if (!status.ok()) return from_grpc(status);
  return response;
}

absl::Status Client::fetch_artifact(const std::string &digest, const std::string &path) {
  std::unique_ptr<grpc::ClientContext> call = context();
  v1::FetchArtifactRequest request;
  request.set_digest(digest);
  auto reader = stub_->FetchArtifact(call.get(), request);
  std::string bytes;
  v1::ArtifactChunk chunk;
  while (reader->Read(&chunk)) bytes += chunk.data();
  if (grpc::Status status = reader->Finish(); !status.ok()) return from_grpc(status);
  if (codegen::sha256_hex(bytes) != digest) return absl::DataLossError("fetched artifact does not match its digest");
  std::ofstream out(path, std::ios::binary);
  out << bytes;
  return out ? absl::OkStatus() : absl::InternalError(absl::StrCat("cannot write ", path));
}

bool Client::healthy() {
  return channel_->WaitForConnected(std::chrono::system_clock::now() + std::chrono::seconds(2));
}

}  // namespace sejits::client
