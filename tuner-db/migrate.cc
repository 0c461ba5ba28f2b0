#include <sqlite3.h>

#include "absl/strings/str_cat.h"
#include "spdlog/spdlog.h"
#include "tuner-db/schema.h"
#include "tuner-db/tuning_db.h"

namespace sejits::tuner::internal {
namespace {

// kMigrations[v] takes a database from version v to v + 1.
constexpr const char *kMigrations[] = {kSchemaV1, kMigrationV1ToV2};
static_assert(std::size(kMigrations) == kSchemaVersion);

absl::StatusOr<int> user_version(const Connection &connection) {
  auto statement = Statement::prepare(connection, "PRAGMA user_version");
  if (!statement.ok()) return statement.status();
  auto row = statement->step();
  if (!row.ok()) return row.status();
  return *row ? static_cast<int>(statement->int64(0)) : 0;
}

absl::Status refuse_version(const Connection &connection, int version) {
  if (version < 0) {
    return absl::FailedPreconditionError(
        absl::StrCat("tuning database ", connection.path.string(), " has an unknown schema version ", version));
  }
  return absl::FailedPreconditionError(absl::StrCat("tuning database ", connection.path.string(),
                                                    " has schema version ", version, ", newer than this sejitsd (",
                                                    kSchemaVersion, ")"));
}

}  // namespace

absl::StatusOr<int> migrate_schema(const Connection &connection) {
  auto found = user_version(connection);
  if (!found.ok()) return found.status();
  if (*found == kSchemaVersion) return *found;
  if (*found > kSchemaVersion || *found < 0) return refuse_version(connection, *found);

  auto transaction = Transaction::begin(connection);
  if (!transaction.ok()) return transaction.status();
  // Another process may have migrated between the read above and the lock.
  auto version = user_version(connection);
  if (!version.ok()) return version.status();
  if (*version > kSchemaVersion || *version < 0) return refuse_version(connection, *version);
  for (int from = *version; from < kSchemaVersion; ++from) {
    if (absl::Status migrated = exec(connection, kMigrations[from]); !migrated.ok()) {
      return absl::Status(migrated.code(),
                          absl::StrCat("migrating schema ", from, " to ", from + 1, ": ", migrated.message()));
    }
  }
  if (absl::Status committed = transaction->commit(); !committed.ok()) return committed;
  if (*version != 0) {
    spdlog::info("tuning db: migrated {} from schema {} to {}", connection.path.string(), *version, kSchemaVersion);
  }
  return *version;
}

}  // namespace sejits::tuner::internal
