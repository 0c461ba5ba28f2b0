// The tuning database's schema, version by version (internal to tuner-db;
// tests use kSchemaV1 to build a database as the first sejitsd left it).
#pragma once

#include "absl/status/statusor.h"
#include "tuner-db/sqlite_statement.h"

namespace sejits::tuner::internal {

// Version 1, as first released; never edit it, add a migration instead.
inline constexpr char kSchemaV1[] = R"sql(
CREATE TABLE tuning_keys(
  id INTEGER PRIMARY KEY,
  kernel_key TEXT NOT NULL,
  kernel_name TEXT NOT NULL,
  shape_class TEXT NOT NULL,
  platform TEXT NOT NULL,
  created_at TEXT NOT NULL,
  UNIQUE(kernel_key, shape_class, platform));
CREATE TABLE samples(
  id INTEGER PRIMARY KEY,
  key_id INTEGER NOT NULL REFERENCES tuning_keys(id) ON DELETE CASCADE,
  variant TEXT NOT NULL,
  seconds REAL,
  error TEXT,
  reported_at TEXT NOT NULL);
CREATE TABLE choices(
  key_id INTEGER PRIMARY KEY REFERENCES tuning_keys(id) ON DELETE CASCADE,
  variant TEXT NOT NULL,
  chosen_at TEXT NOT NULL,
  samples INTEGER NOT NULL,
  reason TEXT NOT NULL);
PRAGMA user_version = 1;
)sql";

// Version 2: platform descriptions, the provenance of imported records, and
// an index for the per-variant reads and pruning.
inline constexpr char kMigrationV1ToV2[] = R"sql(
CREATE TABLE platforms(
  fingerprint TEXT PRIMARY KEY,
  description TEXT NOT NULL);
ALTER TABLE tuning_keys ADD COLUMN origin TEXT NOT NULL DEFAULT 'local';
CREATE INDEX samples_by_key_variant ON samples(key_id, variant);
INSERT OR IGNORE INTO platforms(fingerprint, description)
  SELECT DISTINCT platform, 'unknown (recorded before schema 2)' FROM tuning_keys;
PRAGMA user_version = 2;
)sql";

// Brings the schema up to kSchemaVersion in one transaction and returns the
// version found; a version newer than this build is FAILED_PRECONDITION.
absl::StatusOr<int> migrate_schema(const Connection &connection);

}  // namespace sejits::tuner::internal
