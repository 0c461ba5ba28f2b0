// The content-addressed artifact store: request key -> artifact digest (the
// index), digest -> shared object (the blobs). The daemon is its only writer.
// The layout on disk is private to this file:
//   <root>/blobs/ab/<digest>.so    <root>/index/ab/<key>    <root>/tmp/
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace sejits::codegen {

struct BlobInfo {
  std::string digest;
  std::filesystem::path path;
  int64_t bytes = 0;
};

struct StoreCounters {
  int64_t entries = 0;  // blobs
  int64_t bytes = 0;
  int64_t corrupt_removed = 0;
  int64_t evictions = 0;
};

enum class VerifyDigest { kYes, kNo };

class ArtifactStore {
 public:
  // Opens (creating if needed) a store under `root` bounded to `max_bytes`.
  static absl::StatusOr<std::unique_ptr<ArtifactStore>> open(const std::filesystem::path &root,
                                                             int64_t max_bytes);

  // Moves a finished file into the store; returns its digest.
  absl::StatusOr<BlobInfo> put_file(const std::filesystem::path &file);
  // The blob with this digest, its content checked. A blob whose content no
  // longer matches is removed and NOT_FOUND returned (DATA_LOSS is never seen
  // by callers: the caller rebuilds). The content is hashed again only when
  // the file's identity changed since its last check (see FileIdentity).
  absl::StatusOr<BlobInfo> get(const std::string &digest, VerifyDigest verify = VerifyDigest::kYes);
  absl::Status remove(const std::string &digest);

  // An index entry: the artifact's digest and what the builder noted about
  // it (opaque to the store, one line per field).
  struct IndexEntry {
    std::string digest;
    std::string metadata;
  };
  // Read from memory while the entry's file has the identity it had when it
  // was read (one stat), from the file otherwise.
  std::optional<IndexEntry> lookup_key(const std::string &key);
  absl::Status record_key(const std::string &key, const IndexEntry &entry);

  // A fresh directory for a build, inside the store's file system.
  absl::StatusOr<std::filesystem::path> make_work_dir();

  // Removes least recently used blobs until the store is under its bound.
  void evict_to_limit();

  StoreCounters counters();
  const std::filesystem::path &root() const { return root_; }

  // The last-use time (the blob's mtime, for eviction) is written at most this often per blob.
  static constexpr std::chrono::seconds kTouchInterval{60};

  // What a file looked like when its content was read and checked. Any write
  // to the file changes its ctime (even one that resets the mtime), a
  // replacement changes the inode: while the identity is the same, so is the
  // content. An identity is remembered only if its ctime is older than the
  // timestamp granularity before the check began (else a write in the same
  // tick could leave the ctime as it was: git's "racy" entries).
  struct FileIdentity {
    dev_t device = 0;
    ino_t inode = 0;
    int64_t bytes = -1;
    int64_t ctime_ns = 0;
    bool operator==(const FileIdentity &other) const {
      return device == other.device && inode == other.inode && bytes == other.bytes && ctime_ns == other.ctime_ns;
    }
  };

 private:
  ArtifactStore(std::filesystem::path root, int64_t max_bytes);
  std::filesystem::path blob_path(const std::string &digest) const;
  std::filesystem::path index_path(const std::string &key) const;
  void rescan();
  void forget_blob(const std::string &digest);

  std::filesystem::path root_;
  int64_t max_bytes_;
  std::mutex mutex_;
  StoreCounters counters_;

  struct CheckedBlob {
    std::optional<FileIdentity> verified;  // the identity whose content matched the digest
    std::optional<std::chrono::steady_clock::time_point> touched;  // when the last-use time was last written
  };
  struct CachedIndexEntry {
    FileIdentity identity;
    IndexEntry entry;
  };
  std::mutex checked_mutex_;  // guards the two maps below (not the files)
  std::unordered_map<std::string, CheckedBlob> checked_blobs_;      // by digest
  std::unordered_map<std::string, CachedIndexEntry> index_cache_;  // by key
};

bool is_hex_digest(const std::string &text);

}  // namespace sejits::codegen
