// Reading and writing the rows of one tuning record; shared by the database's
// own operations and by export/import (internal to tuner-db). Callers hold the
// database's mutex and, for writes, a transaction.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "tuner-db/records.h"
#include "tuner-db/sqlite_statement.h"

namespace sejits::tuner::internal {

// Now, in UTC, as "2026-11-22T15:04:05Z".
std::string utc_now();

// Fills median, min and mean from `stats.samples`.
void summarize(VariantStats &stats);

// The id of the key's row, or nullopt when there is none.
absl::StatusOr<std::optional<int64_t>> find_key_id(const Connection &connection, const TuningKey &key);

// The id of the key's row, inserted with `origin` when missing (an existing
// row only gets the newer kernel name).
absl::StatusOr<int64_t> upsert_key(const Connection &connection, const TuningKey &key, const std::string &kernel_name,
                                   const std::string &origin);

enum class PlatformUpdate {
  kKeepExisting,  // only add a platform not yet known
  kReplace,       // a non-empty description replaces the stored one
};
absl::Status store_platform(const Connection &connection, const std::string &fingerprint,
                            const std::string &description, PlatformUpdate update);

// Appends timed samples, then `errors` error rows with `error_text`, then
// drops the oldest timed samples beyond kMaxSamplesPerVariant.
absl::Status append_samples(const Connection &connection, int64_t key_id, const std::string &label,
                            const std::vector<double> &seconds, int64_t errors, const std::string &error_text);

absl::Status store_choice(const Connection &connection, int64_t key_id, const Choice &choice);

// The record of one key (empty when unknown), and every record matching a
// list/reset filter, ordered by kernel name and shape class.
absl::StatusOr<TuningRecord> load_record(const Connection &connection, const TuningKey &key);
absl::StatusOr<std::vector<TuningRecord>> load_records(const Connection &connection, const std::string &kernel_filter);

// The filter of list() and reset(): a kernel key prefix or a kernel name,
// bound as parameter ?1 ("" matches everything).
inline constexpr char kKernelFilterCondition[] =
    "(?1 = '' OR substr(kernel_key, 1, length(?1)) = ?1 OR kernel_name = ?1)";

}  // namespace sejits::tuner::internal
