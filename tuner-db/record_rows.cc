#include "tuner-db/record_rows.h"

#include <algorithm>
#include <map>
#include <numeric>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "tuner-db/tuning_db.h"

namespace sejits::tuner::internal {
namespace {

constexpr char kSelectKeys[] =
    "SELECT tuning_keys.id, kernel_key, shape_class, platform, kernel_name, origin, "
    "coalesce(platforms.description, '') FROM tuning_keys "
    "LEFT JOIN platforms ON platforms.fingerprint = tuning_keys.platform ";

// Reads the key columns of kSelectKeys; returns the row id.
int64_t read_key_row(const Statement &row, TuningRecord &record) {
  record.key = TuningKey{row.text(1), row.text(2), row.text(3)};
  record.kernel_name = row.text(4);
  record.origin = row.text(5);
  record.platform_description = row.text(6);
  return row.int64(0);
}

// Adds the samples and the choice of key row `key_id` to `record`.
absl::Status load_details(const Connection &connection, int64_t key_id, TuningRecord &record) {
  auto samples = Statement::prepare(connection,
                                    "SELECT variant, seconds, coalesce(error, '') FROM samples "
                                    "WHERE key_id = ?1 ORDER BY id");
  if (!samples.ok()) return samples.status();
  samples->bind(1, key_id);
  std::map<std::string, VariantStats> by_label;  // sorted by label
  while (true) {
    auto row = samples->step();
    if (!row.ok()) return row.status();
    if (!*row) break;
    VariantStats &stats = by_label[samples->text(0)];
    if (samples->is_null(1)) {  // an error row
      ++stats.errors;
      stats.last_error = samples->text(2);
    } else {
      stats.samples.push_back(samples->real(1));
    }
  }
  record.variants.clear();
  for (auto &[label, stats] : by_label) {
    stats.label = label;
    summarize(stats);
    record.variants.push_back(std::move(stats));
  }

  auto choice =
      Statement::prepare(connection, "SELECT variant, chosen_at, samples, reason FROM choices WHERE key_id = ?1");
  if (!choice.ok()) return choice.status();
  choice->bind(1, key_id);
  auto row = choice->step();
  if (!row.ok()) return row.status();
  record.choice.reset();
  if (*row) record.choice = Choice{choice->text(0), choice->text(1), choice->int64(2), choice->text(3)};
  return absl::OkStatus();
}

}  // namespace

std::string utc_now() { return absl::FormatTime("%Y-%m-%dT%H:%M:%SZ", absl::Now(), absl::UTCTimeZone()); }

void summarize(VariantStats &stats) {
  stats.median = stats.min = stats.mean = 0;
  if (stats.samples.empty()) return;
  std::vector<double> sorted = stats.samples;
  std::sort(sorted.begin(), sorted.end());
  const size_t middle = sorted.size() / 2;
  stats.median = sorted.size() % 2 == 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
  stats.min = sorted.front();
  stats.mean = std::accumulate(sorted.begin(), sorted.end(), 0.0) / static_cast<double>(sorted.size());
}

absl::StatusOr<std::optional<int64_t>> find_key_id(const Connection &connection, const TuningKey &key) {
  auto select = Statement::prepare(connection,
                                   "SELECT id FROM tuning_keys WHERE kernel_key = ?1 AND shape_class = ?2 "
                                   "AND platform = ?3");
  if (!select.ok()) return select.status();
  select->bind(1, key.kernel_key).bind(2, key.shape_class).bind(3, key.platform);
  auto row = select->step();
  if (!row.ok()) return row.status();
  if (!*row) return std::nullopt;
  return select->int64(0);
}

absl::StatusOr<int64_t> upsert_key(const Connection &connection, const TuningKey &key, const std::string &kernel_name,
                                   const std::string &origin) {
  auto upsert =
      Statement::prepare(connection,
                         "INSERT INTO tuning_keys(kernel_key, shape_class, platform, kernel_name, origin, created_at) "
                         "VALUES(?1, ?2, ?3, ?4, ?5, ?6) ON CONFLICT(kernel_key, shape_class, platform) "
                         "DO UPDATE SET kernel_name = excluded.kernel_name RETURNING id");
  if (!upsert.ok()) return upsert.status();
  upsert->bind(1, key.kernel_key).bind(2, key.shape_class).bind(3, key.platform);
  upsert->bind(4, kernel_name).bind(5, origin).bind(6, utc_now());
  auto row = upsert->step();
  if (!row.ok()) return row.status();
  if (!*row) return absl::InternalError("tuning database: upserting a key returned no id");
  const int64_t id = upsert->int64(0);
  if (absl::Status done = upsert->run(); !done.ok()) return done;
  return id;
}

absl::Status store_platform(const Connection &connection, const std::string &fingerprint,
                            const std::string &description, PlatformUpdate update) {
  auto insert = Statement::prepare(
      connection, update == PlatformUpdate::kReplace
                      ? "INSERT INTO platforms(fingerprint, description) VALUES(?1, ?2) ON CONFLICT(fingerprint) "
                        "DO UPDATE SET description = excluded.description WHERE excluded.description != ''"
                      : "INSERT OR IGNORE INTO platforms(fingerprint, description) VALUES(?1, ?2)");
  if (!insert.ok()) return insert.status();
  insert->bind(1, fingerprint).bind(2, description);
  return insert->run();
}

absl::Status append_samples(const Connection &connection, int64_t key_id, const std::string &label,
                            const std::vector<double> &seconds, int64_t errors, const std::string &error_text) {
  auto insert = Statement::prepare(connection,
                                   "INSERT INTO samples(key_id, variant, seconds, error, reported_at) "
                                   "VALUES(?1, ?2, ?3, ?4, ?5)");
  if (!insert.ok()) return insert.status();
  const std::string now = utc_now();
  auto insert_row = [&](std::optional<double> value) {
    insert->reset();
    insert->bind(1, key_id).bind(2, label).bind(5, now);
    if (value) {
      insert->bind(3, *value).bind_null(4);
    } else {
      insert->bind_null(3).bind(4, error_text);
    }
    return insert->run();
  };
  for (double value : seconds) {
    if (absl::Status inserted = insert_row(value); !inserted.ok()) return inserted;
  }
  for (int64_t i = 0; i < errors; ++i) {
    if (absl::Status inserted = insert_row(std::nullopt); !inserted.ok()) return inserted;
  }

  auto prune = Statement::prepare(connection,
                                  "DELETE FROM samples WHERE key_id = ?1 AND variant = ?2 AND seconds IS NOT NULL "
                                  "AND id NOT IN (SELECT id FROM samples WHERE key_id = ?1 AND variant = ?2 "
                                  "AND seconds IS NOT NULL ORDER BY id DESC LIMIT ?3)");
  if (!prune.ok()) return prune.status();
  prune->bind(1, key_id).bind(2, label).bind(3, int64_t{kMaxSamplesPerVariant});
  return prune->run();
}

absl::Status store_choice(const Connection &connection, int64_t key_id, const Choice &choice) {
  auto insert = Statement::prepare(connection,
                                   "INSERT OR REPLACE INTO choices(key_id, variant, chosen_at, samples, reason) "
                                   "VALUES(?1, ?2, ?3, ?4, ?5)");
  if (!insert.ok()) return insert.status();
  insert->bind(1, key_id).bind(2, choice.label).bind(3, choice.chosen_at.empty() ? utc_now() : choice.chosen_at);
  insert->bind(4, choice.samples).bind(5, choice.reason);
  return insert->run();
}

absl::StatusOr<TuningRecord> load_record(const Connection &connection, const TuningKey &key) {
  auto select = Statement::prepare(connection, absl::StrCat(kSelectKeys,
                                                            "WHERE kernel_key = ?1 AND shape_class = ?2 "
                                                            "AND platform = ?3"));
  if (!select.ok()) return select.status();
  select->bind(1, key.kernel_key).bind(2, key.shape_class).bind(3, key.platform);
  auto row = select->step();
  if (!row.ok()) return row.status();
  TuningRecord record;
  record.key = key;
  if (!*row) return record;
  const int64_t key_id = read_key_row(*select, record);
  if (absl::Status loaded = load_details(connection, key_id, record); !loaded.ok()) return loaded;
  return record;
}

absl::StatusOr<std::vector<TuningRecord>> load_records(const Connection &connection, const std::string &kernel_filter) {
  auto select =
      Statement::prepare(connection, absl::StrCat(kSelectKeys, "WHERE ", kKernelFilterCondition,
                                                  " ORDER BY kernel_name, shape_class, kernel_key, platform"));
  if (!select.ok()) return select.status();
  select->bind(1, kernel_filter);
  std::vector<std::pair<int64_t, TuningRecord>> found;
  while (true) {
    auto row = select->step();
    if (!row.ok()) return row.status();
    if (!*row) break;
    TuningRecord record;
    const int64_t key_id = read_key_row(*select, record);
    found.emplace_back(key_id, std::move(record));
  }
  std::vector<TuningRecord> records;
  records.reserve(found.size());
  for (auto &[key_id, record] : found) {
    if (absl::Status loaded = load_details(connection, key_id, record); !loaded.ok()) return loaded;
    records.push_back(std::move(record));
  }
  return records;
}

}  // namespace sejits::tuner::internal
