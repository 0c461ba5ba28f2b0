#include "codegen/atomic_file.h"

#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "spdlog/spdlog.h"

namespace sejits::codegen {
namespace {

absl::Status errno_status(const std::string &what, const std::filesystem::path &path) {
  int error = errno;
  std::string message = absl::StrCat(what, " ", path.string(), ": ", strerror(error));
  if (error == ENOSPC || error == EDQUOT || error == EFBIG) return absl::ResourceExhaustedError(message);
  return absl::InternalError(message);
}

std::filesystem::path temporary_beside(const std::filesystem::path &path) {
  static std::atomic<uint64_t> counter{0};
  return path.parent_path() /
         absl::StrCat(".tmp.", path.filename().string(), ".", getpid(), ".", counter++);
}

absl::Status fsync_path(const std::filesystem::path &path) {
  int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return errno_status("open", path);
  int rc = fsync(fd);
  close(fd);
  if (rc != 0) return errno_status("fsync", path);
  return absl::OkStatus();
}

// false with errno set on a failed write.
bool write_all(int fd, std::string_view bytes) {
  size_t written = 0;
  while (written < bytes.size()) {
    ssize_t n = write(fd, bytes.data() + written, bytes.size() - written);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return false;
    written += static_cast<size_t>(n);
  }
  return true;
}

}  // namespace

absl::Status write_file_atomically(const std::filesystem::path &path, std::string_view bytes) {
  std::filesystem::path temporary = temporary_beside(path);
  int fd = open(temporary.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
  if (fd < 0) return errno_status("create", temporary);
  // In two halves, so that the test crash point between them leaves a partial file.
  const size_t half = bytes.size() / 2;
  bool written = write_all(fd, bytes.substr(0, half));
  if (written) crash_point_for_tests("atomic-write", path.string());
  written = written && write_all(fd, bytes.substr(half));
  if (!written) {
    absl::Status status = errno_status("write", temporary);
    close(fd);
    unlink(temporary.c_str());
    return status;
  }
  if (fsync(fd) != 0) {
    absl::Status status = errno_status("fsync", temporary);
    close(fd);
    unlink(temporary.c_str());
    return status;
  }
  close(fd);
  if (rename(temporary.c_str(), path.c_str()) != 0) {
    absl::Status status = errno_status("rename", path);
    unlink(temporary.c_str());
    return status;
  }
  return absl::OkStatus();
}

absl::Status publish_file_atomically(const std::filesystem::path &source,
                                     const std::filesystem::path &path) {
  if (absl::Status synced = fsync_path(source); !synced.ok()) return synced;
  crash_point_for_tests("publish-file", path.string());
  if (rename(source.c_str(), path.c_str()) != 0) return errno_status("rename", path);
  return absl::OkStatus();
}

absl::StatusOr<std::string> read_file(const std::filesystem::path &path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return absl::NotFoundError(absl::StrCat("cannot open ", path.string()));
  std::ostringstream contents;
  contents << in.rdbuf();
  if (in.bad()) return absl::DataLossError(absl::StrCat("read error on ", path.string()));
  return contents.str();
}

void crash_point_for_tests(absl::string_view point, absl::string_view detail) {
  static const std::string spec = [] {
    const char *value = std::getenv("SEJITS_TEST_CRASH_AT");
    return std::string(value ? value : "");
  }();
  if (spec.empty()) return;
  const size_t colon = spec.find(':');
  const absl::string_view wanted_point = absl::string_view(spec).substr(0, colon);
  const absl::string_view wanted_detail =
      colon == std::string::npos ? absl::string_view() : absl::string_view(spec).substr(colon + 1);
  if (point != wanted_point || !absl::StrContains(detail, wanted_detail)) return;
  spdlog::critical("SEJITS_TEST_CRASH_AT: reached crash point {} ({}); killing this process", std::string(point),
                   std::string(detail));
  spdlog::default_logger()->flush();
  raise(SIGKILL);
}

}  // namespace sejits::codegen
