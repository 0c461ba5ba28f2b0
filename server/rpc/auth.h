// Bearer-token authentication of TCP calls (--token_file). Unix-socket calls
// are already limited by the socket's permissions and need no token.
#pragma once

#include <string>

#include "grpcpp/server_context.h"
#include "server/core/stats.h"
#include "server/rpc/peers.h"

namespace sejits::server::rpc {

class TokenCheck {
 public:
  // An empty token accepts every call (the daemon only allows that on
  // loopback addresses).
  TokenCheck(std::string token, Stats &stats, PeerRegistry &peers);

  // OK, or UNAUTHENTICATED (counted and logged with the peer, never with the
  // token it sent).
  grpc::Status check(const grpc::ServerContextBase &context) const;

 private:
  std::string expected_digest_;  // sha256 of "Bearer <token>": compared in constant time
  Stats &stats_;
  PeerRegistry &peers_;
};

}  // namespace sejits::server::rpc
