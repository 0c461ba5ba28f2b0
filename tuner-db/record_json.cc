// Export and import of tuning records as JSON lines of sejits.v1.TuningRecord.
#include <cmath>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "codegen/atomic_file.h"
#include "google/protobuf/util/json_util.h"
#include "sejits/v1/tuning.pb.h"
#include "spdlog/spdlog.h"
#include "tuner-db/record_proto.h"
#include "tuner-db/record_rows.h"
#include "tuner-db/sqlite_statement.h"
#include "tuner-db/tuning_db.h"

namespace sejits::tuner {
namespace {

using internal::Connection;

bool is_label(const std::string &label) {
  auto variant = parse_variant_label(label);
  return variant && variant_label(*variant) == label;
}

// A record that could be stored as it is: a complete key, canonical labels,
// timings that are real durations.
bool is_valid(const v1::TuningRecord &record) {
  if (record.kernel_key().empty() || record.shape_class().empty() || record.platform().empty()) return false;
  for (const v1::VariantTimings &timings : record.variants()) {
    if (!is_label(timings.variant()) || timings.errors() < 0 || timings.errors() > kMaxSamplesPerVariant) return false;
    for (double seconds : timings.samples()) {
      if (!std::isfinite(seconds) || seconds < 0) return false;
    }
  }
  return !record.has_choice() || is_label(record.choice().variant());
}

// Stores one record not yet in the database; median_seconds is derived, so
// it is not read.
absl::Status insert_record(const Connection &connection, const v1::TuningRecord &record, const std::string &origin) {
  absl::Status stored = internal::store_platform(connection, record.platform(), record.platform_description(),
                                                 internal::PlatformUpdate::kKeepExisting);
  if (!stored.ok()) return stored;
  const TuningKey key{record.kernel_key(), record.shape_class(), record.platform()};
  auto key_id = internal::upsert_key(connection, key, record.kernel_name(), origin);
  if (!key_id.ok()) return key_id.status();
  for (const v1::VariantTimings &timings : record.variants()) {
    const std::vector<double> samples(timings.samples().begin(), timings.samples().end());
    stored = internal::append_samples(connection, *key_id, timings.variant(), samples, timings.errors(),
                                      timings.last_error());
    if (!stored.ok()) return stored;
  }
  if (!record.has_choice()) return absl::OkStatus();
  const Choice choice{record.choice().variant(), record.choice().chosen_at(), record.choice().samples(),
                      record.choice().reason()};
  return internal::store_choice(connection, *key_id, choice);
}

}  // namespace

absl::StatusOr<std::string> TuningDb::export_jsonl(const std::string &kernel_filter) {
  auto records = list(kernel_filter);
  if (!records.ok()) return records.status();
  google::protobuf::util::JsonPrintOptions options;
  options.add_whitespace = false;
  options.preserve_proto_field_names = true;
  std::string out;
  for (const TuningRecord &record : *records) {
    std::string line;
    auto printed = google::protobuf::util::MessageToJsonString(record_to_proto(record), &line, options);
    if (!printed.ok()) {
      return absl::InternalError(
          absl::StrCat("cannot export the tuning record of ", record.key.kernel_key, ": ", printed.ToString()));
    }
    absl::StrAppend(&out, line, "\n");
  }
  return out;
}

absl::StatusOr<ImportSummary> TuningDb::import_jsonl(const std::string &text, const std::string &source_name) {
  ImportSummary summary;
  std::vector<v1::TuningRecord> records;
  google::protobuf::util::JsonParseOptions options;
  options.ignore_unknown_fields = true;  // exports of newer daemons
  for (absl::string_view line : absl::StrSplit(text, '\n')) {
    line = absl::StripAsciiWhitespace(line);
    if (line.empty()) continue;
    v1::TuningRecord record;
    auto parsed = google::protobuf::util::JsonStringToMessage(std::string(line), &record, options);
    if (!parsed.ok() || !is_valid(record)) {
      ++summary.malformed;
      continue;
    }
    records.push_back(std::move(record));
  }

  const std::string imported_origin = absl::StrCat("imported from ", source_name, " at ", internal::utc_now());
  std::lock_guard lock(mutex_);
  const Connection connection{db_, path_};
  auto transaction = internal::Transaction::begin(connection);
  if (!transaction.ok()) return transaction.status();
  for (const v1::TuningRecord &record : records) {
    auto existing = internal::find_key_id(connection, {record.kernel_key(), record.shape_class(), record.platform()});
    if (!existing.ok()) return existing.status();
    if (existing->has_value()) {  // local measurements (or an earlier import) win
      ++summary.kept_existing;
      continue;
    }
    // A record imported before keeps where it was measured first.
    const bool has_provenance = !record.origin().empty() && record.origin() != "local";
    absl::Status inserted = insert_record(connection, record, has_provenance ? record.origin() : imported_origin);
    if (!inserted.ok()) return inserted;
    ++summary.imported;
  }
  codegen::crash_point_for_tests("tuning-db-write", source_name);  // test-only: before the commit
  if (absl::Status committed = transaction->commit(); !committed.ok()) return committed;
  spdlog::info("tuning db: import of {}: {} records added, {} kept existing, {} malformed lines", source_name,
               summary.imported, summary.kept_existing, summary.malformed);
  return summary;
}

}  // namespace sejits::tuner
