// The tuning database: SQLite in WAL mode, written only by the daemon. Its
// schema is versioned (PRAGMA user_version) and migrated at open.
#pragma once

#include <filesystem>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "tuner-db/records.h"

struct sqlite3;

namespace sejits::tuner {

inline constexpr int kSchemaVersion = 2;
// Samples kept per variant (the oldest are dropped beyond this).
inline constexpr int kMaxSamplesPerVariant = 64;

struct ImportSummary {
  int64_t imported = 0;        // records added
  int64_t kept_existing = 0;   // records already present for that key, shape class and platform
  int64_t malformed = 0;       // lines that were not records
};

// At daemon start: a database at `path` that SQLite cannot read (DATA_LOSS
// from TuningDb::open: garbage, a truncated file, overwritten pages) is moved
// aside with its -wal and -shm files to `<path>.corrupt-<UTC time>`, logged,
// and its path returned, so that the daemon creates an empty one instead of
// running without tuning. A readable database, a missing one, or one that is
// only locked or newer than this build is left alone (nullopt). An error
// only when the corrupt file cannot be moved.
absl::StatusOr<std::optional<std::filesystem::path>> quarantine_if_corrupt(const std::filesystem::path &path);

class TuningDb {
 public:
  // Opens or creates the database, enables WAL and a busy timeout, and
  // migrates older schemas. A file that is not a database, a schema newer
  // than this build, or a database locked beyond the timeout is an error that
  // says so (the daemon then runs without tuning).
  static absl::StatusOr<std::unique_ptr<TuningDb>> open(const std::filesystem::path &path);
  ~TuningDb();

  int schema_version() const;
  const std::filesystem::path &path() const { return path_; }

  // Adds timed samples (seconds per call) and/or one error for a variant.
  absl::Status add_samples(const TuningKey &key, const std::string &kernel_name, const std::string &platform_description,
                           const std::string &variant_label, const std::vector<double> &seconds,
                           const std::string &error = "");
  // Records (or replaces) the choice for a key.
  absl::Status choose(const TuningKey &key, const Choice &choice);

  // The record of one key; a record with no variants and no choice when unknown.
  absl::StatusOr<TuningRecord> find(const TuningKey &key);
  // Every record whose kernel key starts with `kernel_filter` or whose kernel
  // name equals it (all records when empty).
  absl::StatusOr<std::vector<TuningRecord>> list(const std::string &kernel_filter = "");

  // JSON lines, one record per line, with platform and provenance.
  absl::StatusOr<std::string> export_jsonl(const std::string &kernel_filter = "");
  // Adds the records of an export. A record keeps its own platform
  // fingerprint and its origin; one whose key, shape class and platform are
  // already present is not imported (local measurements win).
  absl::StatusOr<ImportSummary> import_jsonl(const std::string &text, const std::string &source_name);
  // Deletes the matching records; returns how many.
  absl::StatusOr<int64_t> reset(const std::string &kernel_filter = "");

 private:
  TuningDb(std::filesystem::path path, sqlite3 *db) : path_(std::move(path)), db_(db) {}

  std::filesystem::path path_;
  sqlite3 *db_;
  std::mutex mutex_;  // one connection, used by every RPC thread in turn
};

}  // namespace sejits::tuner
