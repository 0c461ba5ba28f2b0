// Who is calling: Unix-socket peers by the credentials the kernel reports
// for their connection (SO_PEERCRED, recorded by UnixListener), TCP peers by
// their address. The identity keys per-client fairness and goes into logs.
#pragma once

#include <sys/types.h>

#include <map>
#include <mutex>
#include <set>
#include <string>

#include "grpcpp/server_context.h"

namespace sejits::server::rpc {

struct PeerCredentials {
  pid_t pid = 0;
  uid_t uid = 0;
  gid_t gid = 0;
};

class PeerRegistry {
 public:
  // A connection accepted on a Unix socket and handed to gRPC as `fd`.
  void connected(int fd, const PeerCredentials &credentials);
  // "uid 1000 (alice) pid 4242" for a Unix peer, "ipv4:10.0.0.5:51234" for TCP.
  std::string identify(const grpc::ServerContextBase &context);
  // Whether the call came through a Unix socket (this machine's users).
  static bool is_local(const grpc::ServerContextBase &context);
  int64_t distinct_clients();

 private:
  std::mutex mutex_;
  std::map<int, std::string> by_fd_;  // a closed fd's number is reused only by a later connection
  std::set<std::string> seen_;
};

}  // namespace sejits::server::rpc
