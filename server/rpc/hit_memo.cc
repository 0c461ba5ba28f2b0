#include "server/rpc/hit_memo.h"

#include <bit>
#include <cstring>
#include <utility>

#include "sejits/v1/specializer.pb.h"

namespace sejits::server::rpc {
namespace {

size_t footprint(absl::string_view request, const HitMemo::Answer &answer) {
  return request.size() + answer.reply.size() + answer.artifact_digest.size();
}

}  // namespace

std::shared_ptr<const HitMemo::Answer> HitMemo::find(absl::string_view request) const {
  absl::ReaderMutexLock lock(&mutex_);
  auto found = entries_.find(request);
  return found == entries_.end() ? nullptr : found->second;
}

void HitMemo::remember(absl::string_view request, Answer answer) {
  const size_t bytes = footprint(request, answer);
  if (request.size() > kMaxRequestBytes || bytes > kMaxTotalBytes) return;
  auto shared = std::make_shared<const Answer>(std::move(answer));
  absl::MutexLock lock(&mutex_);
  forget_locked(request);
  if (total_bytes_ + bytes > kMaxTotalBytes) {
    entries_.clear();
    total_bytes_ = 0;
  }
  entries_.emplace(std::string(request), std::move(shared));
  total_bytes_ += bytes;
}

void HitMemo::forget(absl::string_view request) {
  absl::MutexLock lock(&mutex_);
  forget_locked(request);
}

void HitMemo::forget_locked(absl::string_view request) {
  auto found = entries_.find(request);
  if (found == entries_.end()) return;
  total_bytes_ -= footprint(found->first, *found->second);
  entries_.erase(found);
}

size_t HitMemo::size() const {
  absl::ReaderMutexLock lock(&mutex_);
  return entries_.size();
}

void append_specialize_seconds(std::string &reply, double seconds) {
  if (seconds == 0) return;  // proto3 leaves a zero out
  constexpr int kField = v1::SpecializeResponse::kSpecializeSecondsFieldNumber;
  static_assert(kField < 16, "the tag below is one byte");
  reply.push_back(static_cast<char>((kField << 3) | 1));  // wire type 1: 64-bit
  static_assert(std::endian::native == std::endian::little, "protobuf's fixed64 is little-endian");
  char bytes[sizeof seconds];
  std::memcpy(bytes, &seconds, sizeof seconds);
  reply.append(bytes, sizeof bytes);
}

}  // namespace sejits::server::rpc
