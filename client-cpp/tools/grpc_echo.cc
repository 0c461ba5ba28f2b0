// grpc-echo: the ceiling that D1 is measured against. A gRPC server that
// answers every call, whatever its method, with the same small reply (a
// SpecializeResponse that is a HIT), doing nothing else. sejits-load against
// it measures what gRPC and the kernel cost on this machine: a daemon cannot
// answer cached Specialize calls faster than that.
//
//   grpc-echo --listen=unix:/tmp/echo.sock [--threads=2]
//
// Async generic service, one completion queue per thread, every call handled
// on the thread that took it from its queue: the cheapest way gRPC serves.
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/synchronization/mutex.h"
#include "grpcpp/generic/async_generic_service.h"
#include "grpcpp/grpcpp.h"
#include "sejits/v1/specializer.pb.h"

ABSL_FLAG(std::string, listen, "", "where to listen: unix:/path or host:port");
ABSL_FLAG(int, threads, 2, "threads, each with its own completion queue");

namespace {

constexpr int kCallsWaitingPerThread = 64;

// One call: requested, its message read, answered, done.
struct Call {
  enum class Step { kRequested, kRead, kAnswered };
  grpc::GenericServerContext context;
  grpc::GenericServerAsyncReaderWriter stream{&context};
  grpc::ByteBuffer request;
  Step step = Step::kRequested;
};

std::string fixed_reply() {
  sejits::v1::SpecializeResponse reply;
  reply.set_key(std::string(64, '0'));
  reply.set_artifact_digest(std::string(64, '1'));
  reply.set_artifact_path("/tmp/sejits-echo/artifact.so");
  reply.set_artifact_bytes(16384);
  reply.set_entry_symbol("sejits_kernel");
  reply.set_outcome(sejits::v1::HIT);
  return reply.SerializeAsString();
}

void serve(grpc::AsyncGenericService &service, grpc::ServerCompletionQueue &queue, const std::string &reply) {
  auto request_call = [&] {
    auto *call = new Call;
    service.RequestCall(&call->context, &call->stream, &queue, &queue, call);
  };
  for (int i = 0; i < kCallsWaitingPerThread; ++i) request_call();
  void *tag = nullptr;
  bool ok = false;
  while (queue.Next(&tag, &ok)) {
    auto *call = static_cast<Call *>(tag);
    switch (call->step) {
      case Call::Step::kRequested:
        if (!ok) {  // the server is shutting down
          delete call;
          break;
        }
        call->step = Call::Step::kRead;
        call->stream.Read(&call->request, call);
        break;
      case Call::Step::kRead: {
        call->step = Call::Step::kAnswered;
        if (!ok) {  // the client went away before its message came
          call->stream.Finish(grpc::Status::CANCELLED, call);
          break;
        }
        grpc::Slice slice(reply);
        call->stream.WriteAndFinish(grpc::ByteBuffer(&slice, 1), grpc::WriteOptions(), grpc::Status::OK, call);
        break;
      }
      case Call::Step::kAnswered:
        delete call;
        request_call();
        break;
    }
  }
}

}  // namespace

int main(int argc, char **argv) {
  absl::SetProgramUsageMessage("grpc-echo --listen=unix:/path [--threads=N]");
  absl::ParseCommandLine(argc, argv);
  absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore);  // as sejitsd does
  const std::string address = absl::GetFlag(FLAGS_listen);
  const int threads = absl::GetFlag(FLAGS_threads);
  if (address.empty() || threads < 1) {
    fprintf(stderr, "grpc-echo: give --listen=unix:/path and --threads >= 1\n");
    return 2;
  }
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  grpc::AsyncGenericService service;
  grpc::ServerBuilder builder;
  builder.AddListeningPort(address, grpc::InsecureServerCredentials());
  builder.RegisterAsyncGenericService(&service);
  std::vector<std::unique_ptr<grpc::ServerCompletionQueue>> queues;
  for (int i = 0; i < threads; ++i) queues.push_back(builder.AddCompletionQueue());
  std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
  if (!server) {
    fprintf(stderr, "grpc-echo: cannot listen on %s\n", address.c_str());
    return 2;
  }
  const std::string reply = fixed_reply();
  std::vector<std::thread> workers;
  for (auto &queue : queues) workers.emplace_back([&service, &queue, &reply] { serve(service, *queue, reply); });
  printf("grpc-echo listening on %s\n", address.c_str());
  fflush(stdout);

  int received = 0;
  sigwait(&signals, &received);
  std::_Exit(0);  // nothing to keep: no orderly shutdown of the queues
}
