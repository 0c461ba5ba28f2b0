#include "server/rpc/unix_listener.h"

#include <errno.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstring>

#include "absl/strings/str_cat.h"
#include "grpcpp/server_posix.h"
#include "spdlog/spdlog.h"

namespace sejits::server::rpc {

absl::StatusOr<std::unique_ptr<UnixListener>> UnixListener::bind(const std::filesystem::path &path,
                                                                 std::optional<gid_t> group) {
  sockaddr_un address{};
  address.sun_family = AF_UNIX;
  if (path.string().size() >= sizeof address.sun_path) {
    return absl::InvalidArgumentError(absl::StrCat("socket path too long (", path.string().size(), " bytes): ", path.string()));
  }
  std::strncpy(address.sun_path, path.c_str(), sizeof address.sun_path - 1);
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return absl::InternalError(absl::StrCat("socket: ", std::strerror(errno)));
  // Created without permissions for anyone else, then opened to the group:
  // there is no moment when others could connect.
  mode_t previous = umask(0177);
  int bound = ::bind(fd, reinterpret_cast<sockaddr *>(&address), sizeof address);
  umask(previous);
  if (bound != 0) {
    int error = errno;
    close(fd);
    return absl::UnavailableError(absl::StrCat("cannot bind ", path.string(), ": ", std::strerror(error)));
  }
  if (group && (chown(path.c_str(), static_cast<uid_t>(-1), *group) != 0 || chmod(path.c_str(), 0660) != 0)) {
    int error = errno;
    close(fd);
    return absl::PermissionDeniedError(absl::StrCat("cannot give ", path.string(), " to group ", *group, ": ", std::strerror(error)));
  }
  if (listen(fd, SOMAXCONN) != 0) {
    int error = errno;
    close(fd);
    return absl::InternalError(absl::StrCat("listen on ", path.string(), ": ", std::strerror(error)));
  }
  struct stat bound_file;
  ino_t inode = stat(path.c_str(), &bound_file) == 0 ? bound_file.st_ino : 0;
  return std::unique_ptr<UnixListener>(new UnixListener(fd, path, inode));
}

UnixListener::~UnixListener() {
  shutdown(fd_, SHUT_RDWR);  // wakes the blocked accept()
  if (acceptor_.joinable()) acceptor_.join();
  close(fd_);
}

void UnixListener::serve(grpc::Server &server, PeerRegistry &peers) {
  acceptor_ = std::thread([this, &server, &peers] { accept_loop(server, peers); });
}

void UnixListener::accept_loop(grpc::Server &server, PeerRegistry &peers) {
  while (true) {
    int connection = accept4(fd_, nullptr, nullptr, SOCK_CLOEXEC | SOCK_NONBLOCK);
    if (connection < 0) {
      if (errno == EINTR || errno == ECONNABORTED) continue;
      if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) {
        spdlog::warn("unix socket: cannot accept ({}); retrying", std::strerror(errno));
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
        continue;
      }
      return;  // shut down
    }
    ucred credentials{};
    socklen_t length = sizeof credentials;
    if (getsockopt(connection, SOL_SOCKET, SO_PEERCRED, &credentials, &length) != 0) {
      spdlog::warn("unix socket: no peer credentials ({}); closing the connection", std::strerror(errno));
      close(connection);
      continue;
    }
    PeerCredentials peer{credentials.pid, credentials.uid, credentials.gid};
    peers.connected(connection, peer);
    spdlog::info("client connected: pid {} uid {} gid {}", peer.pid, peer.uid, peer.gid);
    grpc::AddInsecureChannelFromFd(&server, connection);
  }
}

}  // namespace sejits::server::rpc
