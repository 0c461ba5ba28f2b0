// The C++ client against a real gRPC server in this process: specialize an
// element-wise kernel, load the artifact, call it on real data; fetch the
// artifact by digest; read the counters.
#include <catch2/catch.hpp>

#include <vector>

#include "ast_builders.h"
#include "client-cpp/client.h"
#include "client-cpp/kernel_loader.h"
#include "codegen/sha256.h"
#include "grpcpp/grpcpp.h"
#include "server/core/specializer_core.h"
#include "server/rpc/specializer_service.h"
#include "temp_dir.h"

namespace sejits {
namespace {

using namespace sejits::testing;

struct InProcessDaemon {
  TempDir dir;
  std::unique_ptr<server::SpecializerCore> core;
  server::rpc::PeerRegistry peers;
  std::unique_ptr<server::rpc::TokenCheck> auth;
  std::unique_ptr<server::rpc::SpecializerService> service;
  std::unique_ptr<grpc::Server> server;
  std::string address;

  InProcessDaemon() {
    server::CoreConfig config;
    config.cache_dir = dir.path() / "cache";
    auto created = server::SpecializerCore::create(config);
    REQUIRE(created.ok());
    core = std::move(*created);
    auth = std::make_unique<server::rpc::TokenCheck>("", core->counters(), peers);
    service = std::make_unique<server::rpc::SpecializerService>(*core, *auth, peers, nullptr, server::RequestLimits{});
    address = "unix:" + (dir.path() / "sejitsd.sock").string();
    grpc::ServerBuilder builder;
    builder.AddListeningPort(address, grpc::InsecureServerCredentials());
    builder.RegisterService(service.get());
    server = builder.BuildAndStart();
    REQUIRE(server != nullptr);
  }
  ~InProcessDaemon() { server->Shutdown(); }
};

v1::SpecializeRequest axpy_request() {
  v1::SpecializeRequest request;
  request.set_specializer("elementwise");
  *request.mutable_function() = def({"a", "x", "y"}, {return_value(1, add(mul(name("a"), name("x")), name("y")))});
  auto *scalar = request.add_args();
  scalar->set_kind(v1::SCALAR);
  scalar->set_dtype(v1::FLOAT64);
  scalar->set_weak(true);
  for (int k = 0; k < 2; ++k) {
    auto *array = request.add_args();
    array->set_kind(v1::ARRAY);
    array->set_dtype(v1::FLOAT64);
    array->set_rank(1);
    array->add_shape(5);
    array->add_strides(8);
  }
  return request;
}

TEST_CASE("the C++ client specializes, loads and calls a kernel", "[client]") {
  InProcessDaemon daemon;
  auto client = client::Client::connect(daemon.address);
  REQUIRE(client.ok());

  auto response = (*client)->specialize(axpy_request());
  REQUIRE(response.ok());
  CHECK(response->outcome() == v1::COMPILED);
  CHECK(response->result().dtype() == v1::FLOAT64);

  auto kernel = client::LoadedKernel::load(*response, "call");
  REQUIRE(kernel.ok());
  auto missing = client::LoadedKernel::load(*response, "iterate");
  REQUIRE_FALSE(missing.ok());
  CHECK_THAT(std::string(missing.status().message()), Catch::Contains("has no 'iterate' entry point (it has: call)"));
  std::vector<double> x = {1, 2, 3, 4, 5}, y = {0.5, -1, 10, 0, 2}, out(5);
  std::vector<sejits_arg> args = {client::float_scalar_arg(3.0), client::array_arg(x.data(), SEJITS_FLOAT64, {5}, 8),
                                  client::array_arg(y.data(), SEJITS_FLOAT64, {5}, 8),
                                  client::array_arg(out.data(), SEJITS_FLOAT64, {5}, 8)};
  REQUIRE(kernel->call(args).ok());
  for (size_t i = 0; i < x.size(); ++i) CHECK(out[i] == 3.0 * x[i] + y[i]);

  SECTION("a wrong argument count is the kernel's error, not a crash") {
    args.pop_back();
    auto status = kernel->call(args);
    CHECK(absl::IsInvalidArgument(status));
    CHECK_THAT(std::string(status.message()), Catch::Contains("expected 4 arguments"));
  }
  SECTION("the second request is a hit and the counters say so") {
    auto again = (*client)->specialize(axpy_request());
    REQUIRE(again.ok());
    CHECK(again->outcome() == v1::HIT);
    CHECK(again->artifact_digest() == response->artifact_digest());
    auto stats = (*client)->stats();
    REQUIRE(stats.ok());
    CHECK(stats->compiles() == 1);
    CHECK(stats->cache_hits() == 1);
    CHECK(stats->cache_entries() == 1);
  }
  SECTION("the artifact can be fetched by digest and verified") {
    std::string copy = (daemon.dir.path() / "fetched.so").string();
    REQUIRE((*client)->fetch_artifact(response->artifact_digest(), copy).ok());
    auto digest = codegen::sha256_file_hex(copy);
    REQUIRE(digest.ok());
    CHECK(*digest == response->artifact_digest());
    CHECK(absl::IsNotFound((*client)->fetch_artifact(std::string(64, 'a'), copy)));
  }
}

}  // namespace
}  // namespace sejits
