#include "tuner-db/tuning_db.h"

#include <sqlite3.h>

#include <cmath>
#include <system_error>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "codegen/atomic_file.h"
#include "spdlog/spdlog.h"
#include "tuner-db/record_rows.h"
#include "tuner-db/schema.h"
#include "tuner-db/sqlite_statement.h"

namespace sejits::tuner {
namespace fs = std::filesystem;
using internal::Connection;
using internal::Statement;
using internal::Transaction;

namespace {

constexpr int kBusyTimeoutMs = 2000;

absl::Status check_key(const TuningKey &key) {
  if (key.kernel_key.empty() || key.shape_class.empty() || key.platform.empty()) {
    return absl::InvalidArgumentError("a tuning key needs a kernel key, a shape class and a platform");
  }
  return absl::OkStatus();
}

// Labels are stored canonical, so that one variant is one set of rows.
absl::Status check_label(const std::string &label) {
  auto variant = parse_variant_label(label);
  if (!variant || variant_label(*variant) != label) {
    return absl::InvalidArgumentError(absl::StrCat("'", label, "' is not a canonical variant label"));
  }
  return absl::OkStatus();
}

absl::Status check_seconds(const std::vector<double> &seconds) {
  for (double value : seconds) {
    if (!std::isfinite(value) || value < 0) {
      return absl::InvalidArgumentError(absl::StrCat("a timing sample must be finite and not negative, not ", value));
    }
  }
  return absl::OkStatus();
}

// Connection settings and checks, in order; the first failure is the answer.
absl::Status prepare_connection(const Connection &connection) {
  sqlite3_busy_timeout(connection.db, kBusyTimeoutMs);
  auto journal_mode = internal::query_text(connection, "PRAGMA journal_mode=WAL");
  if (!journal_mode.ok()) return journal_mode.status();
  if (*journal_mode != "wal") {
    spdlog::warn("tuning db: {} stays in journal mode {} (WAL is not available there)", connection.path.string(),
                 *journal_mode);
  }
  // In WAL mode NORMAL cannot corrupt the database; it only may lose the last
  // commits on power loss, which timings can afford.
  if (absl::Status set = internal::exec(connection, "PRAGMA synchronous=NORMAL"); !set.ok()) return set;
  if (absl::Status set = internal::exec(connection, "PRAGMA foreign_keys=ON"); !set.ok()) return set;
  auto check = internal::query_text(connection, "PRAGMA quick_check");
  if (!check.ok()) return check.status();
  if (*check != "ok") {
    return absl::DataLossError(absl::StrCat("tuning database ", connection.path.string(),
                                            " is not a readable SQLite database (quick_check: ", *check, ")"));
  }
  auto migrated = internal::migrate_schema(connection);
  return migrated.status();
}

}  // namespace

absl::StatusOr<std::unique_ptr<TuningDb>> TuningDb::open(const fs::path &path) {
  std::error_code error;
  if (path.has_parent_path()) fs::create_directories(path.parent_path(), error);
  if (error) {
    return absl::UnavailableError(
        absl::StrCat("cannot create the directory of tuning database ", path.string(), ": ", error.message()));
  }
  sqlite3 *db = nullptr;
  const int code =
      sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_FULLMUTEX, nullptr);
  std::unique_ptr<TuningDb> tuning_db(new TuningDb(path, db));  // closes `db` on every return
  const Connection connection{db, tuning_db->path_};
  if (code != SQLITE_OK) return internal::sqlite_status(connection, code, "open");
  if (absl::Status prepared = prepare_connection(connection); !prepared.ok()) return prepared;
  spdlog::debug("tuning db: opened {}", path.string());
  return tuning_db;
}

TuningDb::~TuningDb() { sqlite3_close_v2(db_); }

absl::StatusOr<std::optional<fs::path>> quarantine_if_corrupt(const fs::path &path) {
  std::error_code error;
  if (!fs::exists(path, error)) return std::nullopt;
  absl::Status status = TuningDb::open(path).status();  // closed again at once
  if (status.code() != absl::StatusCode::kDataLoss) return std::nullopt;
  const fs::path quarantine =
      path.string() + absl::FormatTime(".corrupt-%Y%m%dT%H%M%SZ", absl::Now(), absl::UTCTimeZone());
  // The -wal and -shm files go too: a stale log replayed into a new database would corrupt it.
  for (const char *suffix : {"", "-wal", "-shm", "-journal"}) {
    const fs::path file = path.string() + suffix;
    if (!fs::exists(file, error)) continue;
    fs::rename(file, quarantine.string() + suffix, error);
    if (error) {
      return absl::UnavailableError(absl::StrCat("tuning database ", path.string(), " is corrupt (",
                                                 status.message(), ") and cannot be moved aside: ", error.message()));
    }
  }
  spdlog::error("tuning db: QUARANTINED corrupt tuning database {} ({}): moved to {}; starting with an empty one "
                "(its recorded timings and choices are lost, kernels are tuned again)",
                path.string(), std::string(status.message()), quarantine.string());
  return quarantine;
}

int TuningDb::schema_version() const {
  // FULLMUTEX makes this one statement safe beside another thread's work.
  sqlite3_stmt *statement = nullptr;
  int version = -1;
  if (sqlite3_prepare_v2(db_, "PRAGMA user_version", -1, &statement, nullptr) == SQLITE_OK &&
      sqlite3_step(statement) == SQLITE_ROW) {
    version = sqlite3_column_int(statement, 0);
  }
  sqlite3_finalize(statement);
  return version;
}

absl::Status TuningDb::add_samples(const TuningKey &key, const std::string &kernel_name,
                                   const std::string &platform_description, const std::string &variant_label,
                                   const std::vector<double> &seconds, const std::string &error) {
  if (absl::Status valid = check_key(key); !valid.ok()) return valid;
  if (absl::Status valid = check_label(variant_label); !valid.ok()) return valid;
  if (absl::Status valid = check_seconds(seconds); !valid.ok()) return valid;
  if (seconds.empty() && error.empty()) return absl::OkStatus();

  std::lock_guard lock(mutex_);
  const Connection connection{db_, path_};
  auto transaction = Transaction::begin(connection);
  if (!transaction.ok()) return transaction.status();
  absl::Status stored =
      internal::store_platform(connection, key.platform, platform_description, internal::PlatformUpdate::kReplace);
  if (!stored.ok()) return stored;
  auto key_id = internal::upsert_key(connection, key, kernel_name, "local");
  if (!key_id.ok()) return key_id.status();
  stored = internal::append_samples(connection, *key_id, variant_label, seconds, error.empty() ? 0 : 1, error);
  if (!stored.ok()) return stored;
  codegen::crash_point_for_tests("tuning-db-write", kernel_name);  // test-only: mid-transaction
  if (absl::Status committed = transaction->commit(); !committed.ok()) return committed;
  spdlog::debug("tuning db: {} {} [{}]: {} samples{}", kernel_name, key.shape_class, variant_label, seconds.size(),
                error.empty() ? "" : ", 1 error");
  return absl::OkStatus();
}

absl::Status TuningDb::choose(const TuningKey &key, const Choice &choice) {
  if (absl::Status valid = check_key(key); !valid.ok()) return valid;
  if (absl::Status valid = check_label(choice.label); !valid.ok()) return valid;
  std::lock_guard lock(mutex_);
  const Connection connection{db_, path_};
  auto transaction = Transaction::begin(connection);
  if (!transaction.ok()) return transaction.status();
  auto key_id = internal::find_key_id(connection, key);
  if (!key_id.ok()) return key_id.status();
  if (!key_id->has_value()) {
    return absl::NotFoundError(absl::StrCat("no tuning record for ", key.kernel_key, " ", key.shape_class, " on ",
                                            key.platform, " to record a choice in"));
  }
  if (absl::Status stored = internal::store_choice(connection, **key_id, choice); !stored.ok()) return stored;
  if (absl::Status committed = transaction->commit(); !committed.ok()) return committed;
  spdlog::debug("tuning db: chose [{}] for {} {} ({})", choice.label, key.kernel_key, key.shape_class, choice.reason);
  return absl::OkStatus();
}

absl::StatusOr<TuningRecord> TuningDb::find(const TuningKey &key) {
  std::lock_guard lock(mutex_);
  return internal::load_record(Connection{db_, path_}, key);
}

absl::StatusOr<std::vector<TuningRecord>> TuningDb::list(const std::string &kernel_filter) {
  std::lock_guard lock(mutex_);
  return internal::load_records(Connection{db_, path_}, kernel_filter);
}

absl::StatusOr<int64_t> TuningDb::reset(const std::string &kernel_filter) {
  std::lock_guard lock(mutex_);
  const Connection connection{db_, path_};
  auto remove =
      Statement::prepare(connection, absl::StrCat("DELETE FROM tuning_keys WHERE ", internal::kKernelFilterCondition));
  if (!remove.ok()) return remove.status();
  remove->bind(1, kernel_filter);
  if (absl::Status removed = remove->run(); !removed.ok()) return removed;
  const int64_t count = sqlite3_changes64(db_);  // the keys; their samples and choices go by cascade
  spdlog::info("tuning db: reset '{}' removed {} records", kernel_filter, count);
  return count;
}

}  // namespace sejits::tuner
