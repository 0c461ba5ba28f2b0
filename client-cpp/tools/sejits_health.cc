// sejits-health: asks a daemon's standard gRPC health service whether it is
// serving; exit 0 when it is, 1 otherwise. Meant for probes (Docker
// HEALTHCHECK, Kubernetes exec probes, systemd and test scripts), so it speaks
// grpc.health.v1 through the generic stub and needs no generated code.
#include <chrono>
#include <fstream>
#include <future>
#include <iostream>
#include <iterator>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "google/protobuf/unknown_field_set.h"
#include "grpcpp/generic/generic_stub.h"
#include "grpcpp/grpcpp.h"

namespace {

constexpr char kUsage[] = "usage: sejits-health unix:/path | tcp://host:port | host:port [--tls_ca=FILE] [--timeout_s=N]\n";
constexpr char kCheckMethod[] = "/grpc.health.v1.Health/Check";
// grpc.health.v1.HealthCheckResponse.ServingStatus
constexpr uint64_t kServing = 1;
const char *const kStatusNames[] = {"UNKNOWN", "SERVING", "NOT_SERVING", "SERVICE_UNKNOWN"};

int unhealthy(const std::string &address, const std::string &reason) {
  std::cerr << "sejits-health: " << address << ": " << reason << "\n";
  return 1;
}

}  // namespace

int main(int argc, char **argv) {
  std::string address, tls_ca;
  int timeout_s = 5;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    if (absl::StartsWith(arg, "--tls_ca=")) {
      tls_ca = arg.substr(9);
    } else if (absl::StartsWith(arg, "--timeout_s=")) {
      if (!absl::SimpleAtoi(arg.substr(12), &timeout_s) || timeout_s <= 0) {
        std::cerr << kUsage;
        return 2;
      }
    } else if (address.empty() && !absl::StartsWith(arg, "--")) {
      address = arg;
    } else {
      std::cerr << kUsage;
      return 2;
    }
  }
  if (address.empty()) {
    std::cerr << kUsage;
    return 2;
  }

  std::string target = absl::StartsWith(address, "tcp://") ? address.substr(6) : address;
  std::shared_ptr<grpc::ChannelCredentials> credentials = grpc::InsecureChannelCredentials();
  if (!tls_ca.empty()) {
    std::ifstream file(tls_ca);
    std::stringstream pem;
    pem << file.rdbuf();
    if (!file || pem.str().empty()) return unhealthy(address, "cannot read --tls_ca=" + tls_ca);
    credentials = grpc::SslCredentials(grpc::SslCredentialsOptions{.pem_root_certs = pem.str()});
  }
  grpc::GenericStub stub(grpc::CreateChannel(target, credentials));

  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(timeout_s));
  // An empty HealthCheckRequest asks about the server as a whole (service "").
  grpc::Slice empty_request("");
  grpc::ByteBuffer request(&empty_request, 1), response;
  std::promise<grpc::Status> done;
  stub.UnaryCall(&context, kCheckMethod, grpc::StubOptions(), &request, &response,
                 [&done](grpc::Status status) { done.set_value(std::move(status)); });
  grpc::Status status = done.get_future().get();
  if (!status.ok()) {
    return unhealthy(address, "Health/Check failed: " + status.error_message() + " (code " +
                                  std::to_string(status.error_code()) + ")");
  }

  std::vector<grpc::Slice> slices;
  std::string bytes;
  if (response.Dump(&slices).ok()) {
    for (const grpc::Slice &slice : slices) bytes.append(reinterpret_cast<const char *>(slice.begin()), slice.size());
  }
  // Decoded without the health proto: field 1 is the status, absent means UNKNOWN.
  google::protobuf::UnknownFieldSet fields;
  if (!fields.ParseFromString(bytes)) return unhealthy(address, "undecodable Health/Check response");
  uint64_t serving_status = 0;
  for (int i = 0; i < fields.field_count(); ++i) {
    const auto &field = fields.field(i);
    if (field.number() == 1 && field.type() == google::protobuf::UnknownField::TYPE_VARINT) serving_status = field.varint();
  }
  if (serving_status != kServing) {
    std::string name = serving_status < std::size(kStatusNames) ? kStatusNames[serving_status] : std::to_string(serving_status);
    return unhealthy(address, "status " + name);
  }
  return 0;
}
