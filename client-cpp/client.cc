#include "client-cpp/client.h"

#include <fstream>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "codegen/sha256.h"
#include "grpcpp/grpcpp.h"

namespace sejits::client {
namespace {

absl::Status from_grpc(const grpc::Status &status) {
  return absl::Status(static_cast<absl::StatusCode>(status.error_code()), status.error_message());
}

}  // namespace

Client::Client(std::shared_ptr<grpc::Channel> channel)
    : channel_(std::move(channel)), stub_(v1::Specializer::NewStub(channel_)) {}

absl::StatusOr<std::unique_ptr<Client>> Client::connect(const std::string &address) {
  std::string target = address;
  if (absl::StartsWith(address, "tcp://")) target = address.substr(6);
  else if (!absl::StartsWith(address, "unix:")) return absl::InvalidArgumentError(absl::StrCat("bad daemon address '", address, "' (unix:/path or tcp://host:port)"));
  auto channel = grpc::CreateChannel(target, grpc::InsecureChannelCredentials());
  return std::unique_ptr<Client>(new Client(std::move(channel)));
}

absl::StatusOr<v1::SpecializeResponse> Client::specialize(const v1::SpecializeRequest &request) {
  grpc::ClientContext context;
  v1::SpecializeResponse response;
  grpc::Status status = stub_->Specialize(&context, request, &response);
  if (!status.ok()) return from_grpc(status);
  return response;
}

absl::StatusOr<v1::Stats> Client::stats() {
  grpc::ClientContext context;
  v1::Stats response;
  grpc::Status status = stub_->GetStats(&context, v1::GetStatsRequest(), &response);
  if (!status.ok()) return from_grpc(status);
  return response;
}

absl::Status Client::fetch_artifact(const std::string &digest, const std::string &path) {
  grpc::ClientContext context;
  v1::FetchArtifactRequest request;
  request.set_digest(digest);
  auto reader = stub_->FetchArtifact(&context, request);
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
