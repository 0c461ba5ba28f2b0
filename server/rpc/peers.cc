#include "server/rpc/peers.h"

#include <pwd.h>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"

namespace sejits::server::rpc {
namespace {

constexpr size_t kMaxRememberedClients = 100000;

std::string user_name(uid_t uid) {
  struct passwd entry, *found = nullptr;
  char buffer[1024];
  if (getpwuid_r(uid, &entry, buffer, sizeof buffer, &found) == 0 && found) return found->pw_name;
  return "?";
}

}  // namespace

void PeerRegistry::connected(int fd, const PeerCredentials &credentials) {
  std::string identity = absl::StrCat("uid ", credentials.uid, " (", user_name(credentials.uid), ") pid ", credentials.pid);
  std::lock_guard lock(mutex_);
  by_fd_[fd] = identity;
  if (seen_.size() < kMaxRememberedClients) seen_.insert(identity);
}

std::string PeerRegistry::identify(const grpc::ServerContextBase &context) {
  std::string peer = context.peer();
  // gRPC names a connection it was handed by its descriptor: "fd:7".
  int fd = -1;
  if (absl::StartsWith(peer, "fd:") && absl::SimpleAtoi(peer.substr(3), &fd)) {
    std::lock_guard lock(mutex_);
    if (auto it = by_fd_.find(fd); it != by_fd_.end()) return it->second;
    return peer;
  }
  std::lock_guard lock(mutex_);
  if (seen_.size() < kMaxRememberedClients) seen_.insert(peer);
  return peer;
}

bool PeerRegistry::is_local(const grpc::ServerContextBase &context) {
  std::string peer = context.peer();
  return absl::StartsWith(peer, "fd:") || absl::StartsWith(peer, "unix:");
}

int64_t PeerRegistry::distinct_clients() {
  std::lock_guard lock(mutex_);
  return static_cast<int64_t>(seen_.size());
}

}  // namespace sejits::server::rpc
