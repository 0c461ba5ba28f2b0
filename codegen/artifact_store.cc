#include "codegen/artifact_store.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <time.h>

#include <algorithm>
#include <atomic>
#include <vector>

#include "absl/strings/str_cat.h"
#include "codegen/atomic_file.h"
#include "codegen/sha256.h"
#include "spdlog/spdlog.h"

namespace sejits::codegen {
namespace fs = std::filesystem;

namespace {

// Bounds of the in-memory maps (caches only): past them, an arbitrary entry makes room.
constexpr size_t kMaxCheckedBlobs = size_t{1} << 16;
constexpr size_t kMaxCachedIndexEntries = size_t{1} << 16;
// How far a file's ctime can lag behind the clock read before the write that
// set it: a kernel tick on file systems with sub-second timestamps, a whole
// second on those without (their ctimes have no nanoseconds).
constexpr int64_t kFineTimestampNs = 50'000'000, kCoarseTimestampNs = 2'000'000'000;

int64_t wall_clock_ns() {
  timespec now;
  clock_gettime(CLOCK_REALTIME, &now);
  return static_cast<int64_t>(now.tv_sec) * 1'000'000'000 + now.tv_nsec;
}

std::optional<ArtifactStore::FileIdentity> identity_of(const fs::path &path) {
  struct stat info;
  if (stat(path.c_str(), &info) != 0 || !S_ISREG(info.st_mode)) return std::nullopt;
  return ArtifactStore::FileIdentity{info.st_dev, info.st_ino, static_cast<int64_t>(info.st_size),
                                     static_cast<int64_t>(info.st_ctim.tv_sec) * 1'000'000'000 + info.st_ctim.tv_nsec};
}

// Whether the content read by a check that began (clock read, then stat) at
// `check_began_ns` stays valid while the file keeps `identity`: any write after
// the stat gets a ctime later than this one.
bool settled(const ArtifactStore::FileIdentity &identity, int64_t check_began_ns) {
  const int64_t granularity = identity.ctime_ns % 1'000'000'000 == 0 ? kCoarseTimestampNs : kFineTimestampNs;
  return identity.ctime_ns < check_began_ns - granularity;
}

template <class Map>
void make_room(Map &map, const std::string &key, size_t bound) {
  if (map.size() >= bound && map.find(key) == map.end()) map.erase(map.begin());
}

}  // namespace

bool is_hex_digest(const std::string &text) {
  return text.size() == 64 &&
         std::all_of(text.begin(), text.end(), [](char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); });
}

ArtifactStore::ArtifactStore(fs::path root, int64_t max_bytes) : root_(std::move(root)), max_bytes_(max_bytes) {}

absl::StatusOr<std::unique_ptr<ArtifactStore>> ArtifactStore::open(const fs::path &root, int64_t max_bytes) {
  std::error_code error;
  for (const char *sub : {"blobs", "index", "tmp"}) {
    // Something else where a directory belongs (a damaged or foreign cache) is
    // moved aside, not a reason to refuse to start: a daemon that exits here
    // would be restarted into the same failure by systemd.
    if (fs::exists(root / sub, error) && !fs::is_directory(root / sub, error)) {
      fs::path aside = root / absl::StrCat(sub, ".corrupt-", getpid(), "-", time(nullptr));
      fs::rename(root / sub, aside, error);
      spdlog::error("store: {} is not a directory; QUARANTINED as {} and started empty", (root / sub).string(),
                    aside.string());
    }
    fs::create_directories(root / sub, error);
    if (error) return absl::InternalError(absl::StrCat("cannot create ", (root / sub).string(), ": ", error.message()));
  }
  // Leftovers of builds that a previous daemon did not finish, and of index
  // entries it was writing (complete entries are renamed into place).
  for (const auto &entry : fs::directory_iterator(root / "tmp", error)) fs::remove_all(entry.path(), error);
  for (const auto &entry : fs::recursive_directory_iterator(root / "index", error)) {
    if (entry.path().filename().string().rfind(".tmp.", 0) == 0) fs::remove(entry.path(), error);
  }
  std::unique_ptr<ArtifactStore> store(new ArtifactStore(root, max_bytes));
  store->rescan();
  return store;
}

fs::path ArtifactStore::blob_path(const std::string &digest) const {
  return root_ / "blobs" / digest.substr(0, 2) / (digest.substr(2) + ".so");
}

fs::path ArtifactStore::index_path(const std::string &key) const {
  return root_ / "index" / key.substr(0, 2) / key.substr(2);
}

void ArtifactStore::rescan() {
  std::error_code error;
  StoreCounters fresh;
  for (const auto &entry : fs::recursive_directory_iterator(root_ / "blobs", error)) {
    if (!entry.is_regular_file(error)) continue;
    std::string name = entry.path().filename().string();
    if (name.rfind(".tmp.", 0) == 0) {  // a publish that never finished
      fs::remove(entry.path(), error);
      continue;
    }
    ++fresh.entries;
    fresh.bytes += static_cast<int64_t>(entry.file_size(error));
  }
  std::lock_guard lock(mutex_);
  fresh.corrupt_removed = counters_.corrupt_removed;
  fresh.evictions = counters_.evictions;
  counters_ = fresh;
}

absl::StatusOr<BlobInfo> ArtifactStore::put_file(const fs::path &file) {
  auto digest = sha256_file_hex(file);
  if (!digest.ok()) return digest.status();
  fs::path target = blob_path(*digest);
  std::error_code error;
  fs::create_directories(target.parent_path(), error);
  if (error) return absl::InternalError(absl::StrCat("cannot create ", target.parent_path().string()));
  int64_t bytes = static_cast<int64_t>(fs::file_size(file, error));
  std::lock_guard lock(mutex_);  // the exists check and the counters move together
  bool existed = fs::exists(target, error);
  if (absl::Status published = publish_file_atomically(file, target); !published.ok()) return published;
  chmod(target.c_str(), 0644);
  if (!existed) {
    ++counters_.entries;
    counters_.bytes += bytes;
  }
  return BlobInfo{*digest, target, bytes};
}

absl::StatusOr<BlobInfo> ArtifactStore::get(const std::string &digest, VerifyDigest verify) {
  if (!is_hex_digest(digest)) return absl::InvalidArgumentError("artifact digest must be 64 hex digits");
  fs::path path = blob_path(digest);
  const int64_t check_began = wall_clock_ns();
  std::optional<FileIdentity> identity = identity_of(path);
  if (!identity) {
    forget_blob(digest);
    return absl::NotFoundError(absl::StrCat("no artifact ", digest));
  }
  const int64_t bytes = identity->bytes;
  const auto now = std::chrono::steady_clock::now();
  bool verified = false, touch = true;
  {
    std::lock_guard lock(checked_mutex_);
    if (auto checked = checked_blobs_.find(digest); checked != checked_blobs_.end()) {
      verified = checked->second.verified == identity;
      touch = !checked->second.touched || now - *checked->second.touched >= kTouchInterval;
    }
  }
  if (verify == VerifyDigest::kYes && !verified) {
    auto actual = sha256_file_hex(path);
    if (!actual.ok() || *actual != digest) {
      spdlog::warn("store: artifact {} is corrupt (content digest {}); removing it", digest,
                   actual.ok() ? *actual : actual.status().ToString());
      forget_blob(digest);
      std::error_code error;
      std::lock_guard lock(mutex_);
      if (fs::remove(path, error)) {  // only the caller that removed it counts it
        ++counters_.corrupt_removed;
        --counters_.entries;
        counters_.bytes -= bytes;
      }
      return absl::NotFoundError(absl::StrCat("artifact ", digest, " was corrupt and has been removed"));
    }
    if (settled(*identity, check_began)) {
      std::lock_guard lock(checked_mutex_);
      make_room(checked_blobs_, digest, kMaxCheckedBlobs);
      checked_blobs_[digest].verified = identity;
    }
  }
  if (touch) {
    // The modification time doubles as the last-use time for eviction. The
    // touch changes the ctime too: the next get checks the content again.
    utimensat(AT_FDCWD, path.c_str(), nullptr, 0);
    std::lock_guard lock(checked_mutex_);
    make_room(checked_blobs_, digest, kMaxCheckedBlobs);
    checked_blobs_[digest].touched = now;
  }
  return BlobInfo{digest, path, bytes};
}

void ArtifactStore::forget_blob(const std::string &digest) {
  std::lock_guard lock(checked_mutex_);
  checked_blobs_.erase(digest);
}

absl::Status ArtifactStore::remove(const std::string &digest) {
  if (!is_hex_digest(digest)) return absl::InvalidArgumentError("artifact digest must be 64 hex digits");
  std::error_code error;
  fs::path path = blob_path(digest);
  int64_t bytes = static_cast<int64_t>(fs::file_size(path, error));
  if (error) return absl::NotFoundError(absl::StrCat("no artifact ", digest));
  forget_blob(digest);
  std::lock_guard lock(mutex_);
  if (fs::remove(path, error)) {
    --counters_.entries;
    counters_.bytes -= bytes;
  }
  return absl::OkStatus();
}

std::optional<ArtifactStore::IndexEntry> ArtifactStore::lookup_key(const std::string &key) {
  if (!is_hex_digest(key)) return std::nullopt;
  const fs::path path = index_path(key);
  const int64_t check_began = wall_clock_ns();
  std::optional<FileIdentity> identity = identity_of(path);
  {
    std::lock_guard lock(checked_mutex_);
    auto cached = index_cache_.find(key);
    if (cached != index_cache_.end()) {
      if (identity && cached->second.identity == *identity) return cached->second.entry;
      index_cache_.erase(cached);
    }
  }
  if (!identity) return std::nullopt;
  auto contents = read_file(path);
  if (!contents.ok()) return std::nullopt;
  size_t newline = contents->find('\n');
  IndexEntry entry{contents->substr(0, newline), newline == std::string::npos ? "" : contents->substr(newline + 1)};
  if (!is_hex_digest(entry.digest)) {
    spdlog::warn("store: index entry {} is malformed; ignoring it", key);
    return std::nullopt;
  }
  // A write after the stat above changes the identity: the next lookup reads the file again.
  if (settled(*identity, check_began)) {
    std::lock_guard lock(checked_mutex_);
    make_room(index_cache_, key, kMaxCachedIndexEntries);
    index_cache_[key] = CachedIndexEntry{*identity, entry};
  }
  return entry;
}

absl::Status ArtifactStore::record_key(const std::string &key, const IndexEntry &entry) {
  if (!is_hex_digest(key) || !is_hex_digest(entry.digest)) return absl::InvalidArgumentError("bad key or digest");
  fs::path path = index_path(key);
  std::error_code error;
  fs::create_directories(path.parent_path(), error);
  return write_file_atomically(path, entry.digest + "\n" + entry.metadata);
}

absl::StatusOr<fs::path> ArtifactStore::make_work_dir() {
  static std::atomic<uint64_t> counter{0};
  fs::path dir = root_ / "tmp" / absl::StrCat("build-", getpid(), "-", counter++);
  std::error_code error;
  fs::create_directories(dir, error);
  if (error) return absl::ResourceExhaustedError(absl::StrCat("cannot create ", dir.string(), ": ", error.message()));
  return dir;
}

void ArtifactStore::evict_to_limit() {
  {
    std::lock_guard lock(mutex_);
    if (counters_.bytes <= max_bytes_) return;
  }
  struct Candidate {
    fs::file_time_type last_use;
    fs::path path;
    int64_t bytes;
  };
  std::vector<Candidate> blobs;
  std::error_code error;
  for (const auto &entry : fs::recursive_directory_iterator(root_ / "blobs", error)) {
    if (!entry.is_regular_file(error)) continue;
    blobs.push_back({entry.last_write_time(error), entry.path(), static_cast<int64_t>(entry.file_size(error))});
  }
  std::sort(blobs.begin(), blobs.end(), [](const auto &a, const auto &b) { return a.last_use < b.last_use; });
  int64_t total = 0;
  for (const auto &blob : blobs) total += blob.bytes;
  // A process that already loaded an evicted artifact keeps its mapping: the
  // file is unlinked, not overwritten. Index entries that point at evicted
  // blobs become misses and are rebuilt on demand.
  int64_t evicted = 0, evicted_bytes = 0;
  for (const auto &blob : blobs) {
    if (total <= max_bytes_ * 9 / 10) break;
    if (fs::remove(blob.path, error)) {
      forget_blob(blob.path.parent_path().filename().string() + blob.path.stem().string());
      total -= blob.bytes;
      evicted_bytes += blob.bytes;
      ++evicted;
      spdlog::info("store: evicted {} ({} bytes, least recently used)", blob.path.filename().string(), blob.bytes);
    }
  }
  std::lock_guard lock(mutex_);  // deltas: puts may have happened meanwhile
  counters_.evictions += evicted;
  counters_.entries -= evicted;
  counters_.bytes -= evicted_bytes;
}

StoreCounters ArtifactStore::counters() {
  std::lock_guard lock(mutex_);
  return counters_;
}

}  // namespace sejits::codegen
