// The daemon's Unix socket. sejitsd accepts its connections itself, so that
// it can ask the kernel who connected (SO_PEERCRED) before handing each
// connection to gRPC; gRPC cannot report that.
#pragma once

#include <sys/types.h>

#include <filesystem>
#include <memory>
#include <optional>
#include <thread>

#include "absl/status/statusor.h"
#include "grpcpp/server.h"
#include "server/rpc/peers.h"

namespace sejits::server::rpc {

class UnixListener {
 public:
  // Binds `path` (its directory must exist). Without `group` the socket is
  // the owner's alone (0600); with it, the group's too (0660).
  static absl::StatusOr<std::unique_ptr<UnixListener>> bind(const std::filesystem::path &path, std::optional<gid_t> group);
  ~UnixListener();

  // Accepts connections on a thread until destruction, handing each to
  // `server` and its credentials to `peers`.
  void serve(grpc::Server &server, PeerRegistry &peers);
  // The socket file's inode when it was bound: another one at the path is not ours.
  ino_t inode() const { return inode_; }

 private:
  UnixListener(int fd, std::filesystem::path path, ino_t inode) : fd_(fd), path_(std::move(path)), inode_(inode) {}
  void accept_loop(grpc::Server &server, PeerRegistry &peers);

  int fd_;
  std::filesystem::path path_;
  ino_t inode_;
  std::thread acceptor_;
};

}  // namespace sejits::server::rpc
