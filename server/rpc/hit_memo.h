// Answers to repeated requests: the same request bytes that were a plain cache
// hit before get the same reply again without protobuf parsing, the request
// key or the index. The bytes passed every request limit when they were first
// seen; the limits do not change while the daemon runs.
//
// Only the artifact is checked again (SpecializerCore::confirm_hit): a memo
// entry whose artifact was evicted, removed or corrupted is dropped and the
// request takes the full path.
#pragma once

#include <cstddef>
#include <memory>
#include <string>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"

namespace sejits::server::rpc {

class HitMemo {
 public:
  struct Answer {
    std::string artifact_digest;
    std::string reply;  // a serialized SpecializeResponse without specialize_seconds
  };

  // Requests larger than this are not remembered.
  static constexpr size_t kMaxRequestBytes = 64 * 1024;
  // Bytes of requests and replies held at most. A memo that would grow past
  // it starts again empty: each request then takes the full path once.
  static constexpr size_t kMaxTotalBytes = 16 * 1024 * 1024;

  std::shared_ptr<const Answer> find(absl::string_view request) const;
  void remember(absl::string_view request, Answer answer);
  void forget(absl::string_view request);
  size_t size() const;

 private:
  void forget_locked(absl::string_view request) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mutex_);

  mutable absl::Mutex mutex_;
  absl::flat_hash_map<std::string, std::shared_ptr<const Answer>> entries_ ABSL_GUARDED_BY(mutex_);
  size_t total_bytes_ ABSL_GUARDED_BY(mutex_) = 0;
};

// Appends specialize_seconds to a reply from HitMemo: a protobuf field may
// follow the others on the wire.
void append_specialize_seconds(std::string &reply, double seconds);

}  // namespace sejits::server::rpc
