// The tuning database: schema and migration, concurrent writers, pruning,
// errors, export and import between platforms, damaged and locked files,
// reset, and the platform fingerprint.
#include "tuner-db/tuning_db.h"

#include <sqlite3.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <cmath>
#include <fstream>
#include <limits>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_split.h"
#include "codegen/sha256.h"
#include "tests/unit/temp_dir.h"
#include "tuner-db/platform.h"
#include "tuner-db/schema.h"

namespace sejits::tuner {
namespace {

namespace fs = std::filesystem;
using sejits::testing::TempDir;

constexpr char kLocalPlatform[] = "00112233aabbccdd";
constexpr char kLocalDescription[] = "cpu=Test CPU; cores=2; features=0123456789ab; compiler=g++ 12; device=none";

std::unique_ptr<TuningDb> open_db(const fs::path &path) {
  auto db = TuningDb::open(path);
  INFO(db.status().ToString());
  REQUIRE(db.ok());
  return std::move(*db);
}

TuningKey key_of(const std::string &kernel_key, const std::string &shape_class = "call:100:c",
                 const std::string &platform = kLocalPlatform) {
  return TuningKey{kernel_key, shape_class, platform};
}

void add(TuningDb &db, const TuningKey &key, const std::string &label, const std::vector<double> &seconds,
         const std::string &error = "", const std::string &kernel_name = "saxpy") {
  absl::Status added = db.add_samples(key, kernel_name, kLocalDescription, label, seconds, error);
  INFO(added.ToString());
  REQUIRE(added.ok());
}

TuningRecord find_record(TuningDb &db, const TuningKey &key) {
  auto record = db.find(key);
  INFO(record.status().ToString());
  REQUIRE(record.ok());
  return *record;
}

// A second connection to the same file, without the daemon's code in between.
class RawDb {
 public:
  explicit RawDb(const fs::path &path) { REQUIRE(sqlite3_open(path.c_str(), &db_) == SQLITE_OK); }
  ~RawDb() { sqlite3_close(db_); }
  RawDb(const RawDb &) = delete;
  RawDb &operator=(const RawDb &) = delete;

  void exec(const std::string &sql) {
    char *message = nullptr;
    const int code = sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, &message);
    INFO(sql << ": " << (message ? message : ""));
    sqlite3_free(message);
    REQUIRE(code == SQLITE_OK);
  }
  std::string text(const std::string &sql) {
    sqlite3_stmt *statement = nullptr;
    REQUIRE(sqlite3_prepare_v2(db_, sql.c_str(), -1, &statement, nullptr) == SQLITE_OK);
    std::string result;
    if (sqlite3_step(statement) == SQLITE_ROW)
      result = reinterpret_cast<const char *>(sqlite3_column_text(statement, 0));
    sqlite3_finalize(statement);
    return result;
  }

 private:
  sqlite3 *db_ = nullptr;
};

void write_bytes(const fs::path &path, const std::string &bytes) { std::ofstream(path, std::ios::binary) << bytes; }

void check_same_record(const TuningRecord &actual, const TuningRecord &expected) {
  CHECK(actual.key.kernel_key == expected.key.kernel_key);
  CHECK(actual.key.shape_class == expected.key.shape_class);
  CHECK(actual.key.platform == expected.key.platform);
  CHECK(actual.kernel_name == expected.kernel_name);
  CHECK(actual.platform_description == expected.platform_description);
  REQUIRE(actual.variants.size() == expected.variants.size());
  for (size_t i = 0; i < actual.variants.size(); ++i) {
    CHECK(actual.variants[i].label == expected.variants[i].label);
    CHECK(actual.variants[i].samples == expected.variants[i].samples);
    CHECK(actual.variants[i].errors == expected.variants[i].errors);
    CHECK(actual.variants[i].last_error == expected.variants[i].last_error);
    CHECK(actual.variants[i].median == expected.variants[i].median);
  }
  REQUIRE(actual.choice.has_value() == expected.choice.has_value());
  if (actual.choice) {
    CHECK(actual.choice->label == expected.choice->label);
    CHECK(actual.choice->chosen_at == expected.choice->chosen_at);
    CHECK(actual.choice->samples == expected.choice->samples);
    CHECK(actual.choice->reason == expected.choice->reason);
  }
}

}  // namespace

TEST_CASE("a new database has schema 2, WAL and every table", "[tuning_db]") {
  TempDir dir;
  const fs::path path = dir.path() / "nested" / "dir" / "tuning.db";
  auto db = open_db(path);
  CHECK(db->schema_version() == 2);
  CHECK(fs::exists(path));
  RawDb raw(path);
  CHECK(raw.text("PRAGMA user_version") == "2");
  CHECK(raw.text("PRAGMA journal_mode") == "wal");
  for (const char *table : {"tuning_keys", "samples", "choices", "platforms"}) {
    INFO(table);
    CHECK(raw.text(std::string("SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = '") + table + "'") ==
          "1");
  }
  CHECK(raw.text("SELECT count(*) FROM pragma_table_info('tuning_keys') WHERE name = 'origin'") == "1");
  CHECK(raw.text("SELECT count(*) FROM sqlite_master WHERE type = 'index' AND tbl_name = 'samples'") == "1");
  // Opening again finds it current.
  db.reset();
  CHECK(open_db(path)->schema_version() == 2);
}

TEST_CASE("a version 1 database is migrated with its data", "[tuning_db]") {
  TempDir dir;
  const fs::path path = dir.path() / "tuning.db";
  {
    RawDb raw(path);
    raw.exec(internal::kSchemaV1);
    raw.exec(
        "INSERT INTO tuning_keys VALUES(1, 'mod.saxpy:k1', 'saxpy', 'call:100:c', '00112233aabbccdd', "
        "'2025-01-01T00:00:00Z');"
        "INSERT INTO samples(key_id, variant, seconds, error, reported_at) VALUES"
        "(1, 'threads=2', 3.0, NULL, '2025-01-01T00:00:01Z'),"
        "(1, 'threads=2', 1.0, NULL, '2025-01-01T00:00:02Z'),"
        "(1, 'threads=2', 2.0, NULL, '2025-01-01T00:00:03Z'),"
        "(1, 'threads=8', NULL, 'segfault', '2025-01-01T00:00:04Z');"
        "INSERT INTO choices VALUES(1, 'threads=2', '2025-01-02T00:00:00Z', 4, 'search complete');");
    REQUIRE(raw.text("PRAGMA user_version") == "1");
  }
  auto db = open_db(path);
  CHECK(db->schema_version() == 2);

  const TuningRecord record = find_record(*db, key_of("mod.saxpy:k1"));
  CHECK(record.kernel_name == "saxpy");
  CHECK(record.origin == "local");
  CHECK(record.platform_description == "unknown (recorded before schema 2)");
  REQUIRE(record.variants.size() == 2);
  CHECK(record.variants[0].label == "threads=2");
  CHECK(record.variants[0].samples == std::vector<double>{3.0, 1.0, 2.0});
  CHECK(record.variants[0].median == 2.0);
  CHECK(record.variants[0].min == 1.0);
  CHECK(record.variants[0].mean == 2.0);
  CHECK(record.variants[1].label == "threads=8");
  CHECK(record.variants[1].samples.empty());
  CHECK(record.variants[1].errors == 1);
  CHECK(record.variants[1].last_error == "segfault");
  REQUIRE(record.choice.has_value());
  CHECK(record.choice->label == "threads=2");
  CHECK(record.choice->chosen_at == "2025-01-02T00:00:00Z");
  CHECK(record.choice->samples == 4);
  CHECK(record.choice->reason == "search complete");

  // Writing after the migration records the platform description.
  add(*db, key_of("mod.saxpy:k1"), "threads=2", {4.0});
  const TuningRecord after = find_record(*db, key_of("mod.saxpy:k1"));
  CHECK(after.variants[0].samples == std::vector<double>{3.0, 1.0, 2.0, 4.0});
  CHECK(after.variants[0].median == 2.5);
  CHECK(after.platform_description == kLocalDescription);
}

TEST_CASE("a schema newer than this build is refused", "[tuning_db]") {
  TempDir dir;
  const fs::path path = dir.path() / "tuning.db";
  {
    RawDb raw(path);
    raw.exec("CREATE TABLE future(x); PRAGMA user_version = 99;");
  }
  auto db = TuningDb::open(path);
  REQUIRE_FALSE(db.ok());
  CHECK(db.status().code() == absl::StatusCode::kFailedPrecondition);
  CHECK(db.status().message() ==
        "tuning database " + path.string() + " has schema version 99, newer than this sejitsd (2)");
  RawDb raw(path);
  CHECK(raw.text("PRAGMA user_version") == "99");  // left as it was
}

TEST_CASE("16 threads adding samples at once lose none", "[tuning_db]") {
  TempDir dir;
  auto db = open_db(dir.path() / "tuning.db");
  constexpr int kThreads = 16;
  constexpr int kCalls = 50;
  std::vector<std::thread> threads;
  std::vector<std::string> failures(kThreads);
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      const TuningKey key = key_of("mod.kernel:" + std::to_string(t % 4));
      const std::string label = "thread=" + std::to_string(t);
      for (int i = 0; i < kCalls; ++i) {
        // One sample per call; every tenth call also reports an error.
        absl::Status added = db->add_samples(key, "kernel", kLocalDescription, label, {t + i / 1000.0},
                                             i % 10 == 9 ? "error " + std::to_string(i) : "");
        if (!added.ok() && failures[t].empty()) failures[t] = added.ToString();
      }
    });
  }
  for (std::thread &thread : threads) thread.join();
  for (const std::string &failure : failures) CHECK(failure.empty());

  auto records = db->list();
  REQUIRE(records.ok());
  REQUIRE(records->size() == 4);
  for (const TuningRecord &record : *records) {
    REQUIRE(record.variants.size() == kThreads / 4);
    for (const VariantStats &stats : record.variants) {
      INFO(record.key.kernel_key << " " << stats.label);
      const int t = std::stoi(stats.label.substr(stats.label.find('=') + 1));
      CHECK(record.key.kernel_key == "mod.kernel:" + std::to_string(t % 4));
      REQUIRE(stats.samples.size() == kCalls);
      for (int i = 0; i < kCalls; ++i) CHECK(stats.samples[i] == t + i / 1000.0);  // oldest first
      CHECK(stats.errors == 5);
      CHECK(stats.last_error == "error 49");
    }
  }
}

TEST_CASE("only the newest 64 timed samples of a variant are kept", "[tuning_db]") {
  TempDir dir;
  auto db = open_db(dir.path() / "tuning.db");
  const TuningKey key = key_of("mod.saxpy:k1");
  for (int call = 0; call < 10; ++call) {
    std::vector<double> seconds;
    for (int i = 0; i < 10; ++i) seconds.push_back(call * 10 + i);
    add(*db, key, "threads=2", seconds, call == 0 ? "first error" : "");
  }
  add(*db, key, "threads=4", {1.5});
  const TuningRecord record = find_record(*db, key);
  REQUIRE(record.variants.size() == 2);
  const VariantStats &pruned = record.variants[0];
  REQUIRE(pruned.samples.size() == kMaxSamplesPerVariant);
  CHECK(pruned.samples.front() == 36);
  CHECK(pruned.samples.back() == 99);
  CHECK(pruned.median == (67 + 68) / 2.0);
  CHECK(pruned.errors == 1);  // errors are not timed samples
  CHECK(record.variants[1].samples == std::vector<double>{1.5});
}

TEST_CASE("errors are recorded and counted, bad samples and labels are refused", "[tuning_db]") {
  TempDir dir;
  auto db = open_db(dir.path() / "tuning.db");
  const TuningKey key = key_of("mod.saxpy:k1");
  add(*db, key, "threads=8", {}, "compile error: no such pragma");
  add(*db, key, "threads=8", {}, "wrong results");
  add(*db, key, "threads=1", {0.5, 0.25});
  TuningRecord record = find_record(*db, key);
  REQUIRE(record.variants.size() == 2);
  CHECK(record.variants[0].label == "threads=1");
  CHECK(record.variants[0].errors == 0);
  CHECK(record.variants[0].median == 0.375);
  CHECK(record.variants[1].label == "threads=8");
  CHECK(record.variants[1].errors == 2);
  CHECK(record.variants[1].last_error == "wrong results");
  CHECK(record.variants[1].samples.empty());

  const double nan = std::numeric_limits<double>::quiet_NaN();
  const double inf = std::numeric_limits<double>::infinity();
  for (const std::vector<double> &bad : {std::vector<double>{-1.0}, {0.1, nan}, {inf}}) {
    absl::Status added = db->add_samples(key, "saxpy", kLocalDescription, "threads=1", bad);
    CHECK(added.code() == absl::StatusCode::kInvalidArgument);
  }
  for (const char *label : {"threads", "threads=1,threads=2", "tile=8,threads=1"}) {
    INFO(label);
    CHECK(db->add_samples(key, "saxpy", kLocalDescription, label, {1.0}).code() == absl::StatusCode::kInvalidArgument);
  }
  CHECK(db->add_samples(key_of(""), "saxpy", kLocalDescription, "threads=1", {1.0}).code() ==
        absl::StatusCode::kInvalidArgument);
  record = find_record(*db, key);
  CHECK(record.variants[0].samples == std::vector<double>{0.5, 0.25});  // nothing of the bad calls
}

TEST_CASE("choose records and replaces the choice of a known key", "[tuning_db]") {
  TempDir dir;
  auto db = open_db(dir.path() / "tuning.db");
  const TuningKey key = key_of("mod.saxpy:k1");
  CHECK(db->choose(key, Choice{"threads=2", "", 3, "search complete"}).code() == absl::StatusCode::kNotFound);
  CHECK_FALSE(find_record(*db, key).choice.has_value());

  add(*db, key, "threads=2", {1.0, 1.0, 1.0});
  REQUIRE(db->choose(key, Choice{"threads=2", "", 3, "search complete"}).ok());
  TuningRecord record = find_record(*db, key);
  REQUIRE(record.choice.has_value());
  CHECK(record.choice->label == "threads=2");
  CHECK(record.choice->chosen_at.size() == std::string("2026-11-22T15:04:05Z").size());
  CHECK(record.choice->chosen_at.back() == 'Z');
  CHECK(record.choice->chosen_at[10] == 'T');

  REQUIRE(db->choose(key, Choice{"threads=4", "2026-01-01T00:00:00Z", 9, "budget spent"}).ok());
  record = find_record(*db, key);
  CHECK(record.choice->label == "threads=4");
  CHECK(record.choice->chosen_at == "2026-01-01T00:00:00Z");
  CHECK(record.choice->samples == 9);
  CHECK(record.choice->reason == "budget spent");
}

TEST_CASE("export then import gives the same records, once", "[tuning_db]") {
  TempDir dir;
  auto source = open_db(dir.path() / "source.db");
  add(*source, key_of("mod.saxpy:k1"), "threads=1", {0.125, 0.1, 0.3});
  add(*source, key_of("mod.saxpy:k1"), "threads=2", {0.0625, 1e-7}, "timeout", "saxpy");
  add(*source, key_of("mod.stencil:k2", "call:64x64:c"), "tile=8", {2.5}, "", "stencil");
  REQUIRE(
      source->choose(key_of("mod.saxpy:k1"), Choice{"threads=2", "2026-03-04T05:06:07Z", 5, "search complete"}).ok());
  auto text = source->export_jsonl();
  REQUIRE(text.ok());
  const std::vector<std::string> lines = absl::StrSplit(*text, '\n', absl::SkipEmpty());
  REQUIRE(lines.size() == 2);
  CHECK(absl::StrContains(lines[0], "\"kernel_key\":\"mod.saxpy:k1\""));

  auto target = open_db(dir.path() / "target.db");
  auto summary = target->import_jsonl(*text, "hostA.jsonl");
  REQUIRE(summary.ok());
  CHECK(summary->imported == 2);
  CHECK(summary->kept_existing == 0);
  CHECK(summary->malformed == 0);

  auto expected = source->list();
  auto actual = target->list();
  REQUIRE(expected.ok());
  REQUIRE(actual.ok());
  REQUIRE(actual->size() == 2);
  for (size_t i = 0; i < actual->size(); ++i) {
    check_same_record((*actual)[i], (*expected)[i]);
    CHECK((*expected)[i].origin == "local");
    CHECK(absl::StartsWith((*actual)[i].origin, "imported from hostA.jsonl at 20"));
  }
  CHECK((*actual)[0].kernel_name == "saxpy");
  CHECK((*actual)[0].variants[1].errors == 1);
  CHECK((*actual)[0].variants[1].last_error == "timeout");

  // Importing again adds nothing.
  summary = target->import_jsonl(*text, "hostA.jsonl");
  REQUIRE(summary.ok());
  CHECK(summary->imported == 0);
  CHECK(summary->kept_existing == 2);
  auto again = target->list();
  REQUIRE(again.ok());
  REQUIRE(again->size() == 2);
  for (size_t i = 0; i < again->size(); ++i) check_same_record((*again)[i], (*expected)[i]);

  // Passed on once more, a record keeps where it came from first.
  auto relayed_text = target->export_jsonl("mod.stencil");
  REQUIRE(relayed_text.ok());
  auto relay = open_db(dir.path() / "relay.db");
  REQUIRE(relay->import_jsonl(*relayed_text, "hostB.jsonl").ok());
  const TuningRecord relayed = find_record(*relay, key_of("mod.stencil:k2", "call:64x64:c"));
  CHECK(relayed.origin == (*actual)[1].origin);
  CHECK(relayed.variants.size() == 1);
}

TEST_CASE("a record of another platform is imported beside the local one", "[tuning_db]") {
  TempDir dir;
  auto db = open_db(dir.path() / "tuning.db");
  add(*db, key_of("mod.saxpy:k1"), "threads=2", {1.0, 2.0, 3.0});
  const TuningRecord local_before = find_record(*db, key_of("mod.saxpy:k1"));

  const std::string other_line =
      R"({"kernel_key":"mod.saxpy:k1","kernel_name":"saxpy","shape_class":"call:100:c",)"
      R"("platform":"ffffeeeeddddcccc","platform_description":"cpu=Other CPU; cores=64","origin":"local",)"
      R"("variants":[{"variant":"threads=2","samples":[0.5,0.25],"errors":"0","median_seconds":0.375},)"
      R"({"variant":"threads=64","samples":[0.1]}],"choice":{"variant":"threads=64","reason":"search complete"}})";
  auto summary = db->import_jsonl(other_line + "\n", "big-box.jsonl");
  REQUIRE(summary.ok());
  CHECK(summary->imported == 1);
  CHECK(summary->kept_existing == 0);

  const TuningRecord other = find_record(*db, key_of("mod.saxpy:k1", "call:100:c", "ffffeeeeddddcccc"));
  CHECK(other.platform_description == "cpu=Other CPU; cores=64");
  CHECK(absl::StartsWith(other.origin, "imported from big-box.jsonl at "));
  REQUIRE(other.variants.size() == 2);
  CHECK(other.variants[0].samples == std::vector<double>{0.5, 0.25});
  CHECK(other.variants[1].label == "threads=64");
  REQUIRE(other.choice.has_value());
  CHECK(other.choice->label == "threads=64");

  const TuningRecord local_after = find_record(*db, key_of("mod.saxpy:k1"));
  check_same_record(local_after, local_before);
  CHECK(local_after.origin == "local");
  CHECK_FALSE(local_after.choice.has_value());

  auto all = db->list("saxpy");
  REQUIRE(all.ok());
  CHECK(all->size() == 2);
}

TEST_CASE("malformed import lines are counted and skipped", "[tuning_db]") {
  TempDir dir;
  auto db = open_db(dir.path() / "tuning.db");
  const std::string text =
      "not json at all\n"
      "\n"
      "{\"kernel_key\": 5}\n"
      "{}\n"
      R"({"kernel_key":"k","shape_class":"s","platform":"p","variants":[{"variant":"no label"}]})"
      "\n"
      R"({"kernel_key":"k","shape_class":"s","platform":"p","variants":[{"variant":"a=1","samples":[-1]}]})"
      "\n"
      R"({"kernel_key":"good","kernel_name":"g","shape_class":"s","platform":"p","variants":[{"variant":"a=1","samples":[1]}]})"
      "\n   \n";
  auto summary = db->import_jsonl(text, "mixed.jsonl");
  REQUIRE(summary.ok());
  CHECK(summary->malformed == 5);
  CHECK(summary->imported == 1);
  CHECK(summary->kept_existing == 0);
  auto records = db->list();
  REQUIRE(records.ok());
  REQUIRE(records->size() == 1);
  CHECK((*records)[0].key.kernel_key == "good");
}

TEST_CASE("a file that is not a database is reported as data loss", "[tuning_db]") {
  TempDir dir;
  const fs::path path = dir.path() / "tuning.db";
  SECTION("text") { write_bytes(path, "this is not a database, it is a note to self\n"); }
  SECTION("random bytes") {
    std::mt19937 random(42);
    std::string bytes(8192, '\0');
    for (char &byte : bytes) byte = static_cast<char>(random() & 0xff);
    write_bytes(path, bytes);
  }
  SECTION("a database with its pages overwritten") {
    {
      auto db = open_db(path);
      for (int i = 0; i < 200; ++i) add(*db, key_of("mod.k:" + std::to_string(i)), "threads=2", {1.0, 2.0});
    }
    std::string bytes;
    {
      std::ifstream in(path, std::ios::binary);
      bytes.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
    }
    REQUIRE(bytes.size() > 16384);
    for (size_t i = 4096; i < bytes.size(); ++i) bytes[i] = static_cast<char>(i * 7919 % 251);
    write_bytes(path, bytes);
  }
  auto db = TuningDb::open(path);
  REQUIRE_FALSE(db.ok());
  INFO(db.status().ToString());
  CHECK(db.status().code() == absl::StatusCode::kDataLoss);
  CHECK(absl::StrContains(db.status().message(), path.string()));
  CHECK(absl::StrContains(db.status().message(), "is not a readable SQLite database"));
}

TEST_CASE("a database locked by another process fails writes in time, then works", "[tuning_db]") {
  TempDir dir;
  const fs::path path = dir.path() / "tuning.db";
  auto db = open_db(path);
  const TuningKey key = key_of("mod.saxpy:k1");
  add(*db, key, "threads=2", {1.0});

  RawDb other(path);
  other.exec("BEGIN EXCLUSIVE");
  other.exec("INSERT INTO platforms VALUES('0123456789abcdef', 'held')");
  const auto start = std::chrono::steady_clock::now();
  absl::Status added = db->add_samples(key, "saxpy", kLocalDescription, "threads=2", {2.0});
  const auto waited = std::chrono::steady_clock::now() - start;
  INFO(added.ToString());
  CHECK(added.code() == absl::StatusCode::kUnavailable);
  CHECK(absl::StrContains(added.message(), "tuning database " + path.string() + " is locked by another process"));
  CHECK(waited >= std::chrono::milliseconds(1500));  // the busy timeout was waited out
  CHECK(waited < std::chrono::seconds(10));
  // Readers are not blocked (WAL).
  CHECK(find_record(*db, key).variants[0].samples == std::vector<double>{1.0});

  other.exec("ROLLBACK");
  add(*db, key, "threads=2", {3.0});
  CHECK(find_record(*db, key).variants[0].samples == std::vector<double>{1.0, 3.0});
}

TEST_CASE("reset deletes only the matching records", "[tuning_db]") {
  TempDir dir;
  const fs::path path = dir.path() / "tuning.db";
  auto db = open_db(path);
  add(*db, key_of("mod.saxpy:aa"), "threads=2", {1.0}, "", "saxpy");
  add(*db, key_of("mod.saxpy:bb", "call:7:c"), "threads=2", {1.0}, "", "saxpy");
  add(*db, key_of("mod.stencil:cc"), "tile=8", {1.0, 2.0}, "", "stencil");
  add(*db, key_of("lib.other:dd"), "threads=1", {1.0}, "", "matmul");
  REQUIRE(db->choose(key_of("mod.saxpy:aa"), Choice{"threads=2", "", 1, "search complete"}).ok());

  auto listed = db->list("mod.saxpy");
  REQUIRE(listed.ok());
  REQUIRE(listed->size() == 2);
  CHECK((*listed)[0].key.shape_class == "call:100:c");  // ordered by kernel name, then shape class
  CHECK((*listed)[1].key.shape_class == "call:7:c");

  auto removed = db->reset("mod.saxpy");  // a kernel key prefix
  REQUIRE(removed.ok());
  CHECK(*removed == 2);
  removed = db->reset("matmul");  // a kernel name
  REQUIRE(removed.ok());
  CHECK(*removed == 1);
  removed = db->reset("nothing-matches");
  REQUIRE(removed.ok());
  CHECK(*removed == 0);

  auto left = db->list();
  REQUIRE(left.ok());
  REQUIRE(left->size() == 1);
  CHECK(left->front().key.kernel_key == "mod.stencil:cc");
  RawDb raw(path);
  CHECK(raw.text("SELECT count(*) FROM samples") == "2");  // the deleted keys' samples went with them
  CHECK(raw.text("SELECT count(*) FROM choices") == "0");

  removed = db->reset();
  REQUIRE(removed.ok());
  CHECK(*removed == 1);
  CHECK(raw.text("SELECT count(*) FROM tuning_keys") == "0");
}

TEST_CASE("the local platform fingerprint digests the description", "[tuning_db]") {
  const std::string long_compiler = "g++ (Debian 12.2.0-14) 12.2.0 " + std::string(100, 'x') + "\nCopyright (C) 2022";
  const PlatformFingerprint platform = local_platform(long_compiler, "none");
  CHECK(platform.fingerprint.size() == 16);
  CHECK(platform.fingerprint == codegen::sha256_hex(platform.description).substr(0, 16));
  CHECK(absl::StartsWith(platform.description, "cpu="));
  CHECK(absl::StrContains(platform.description,
                          "; cores=" + std::to_string(std::thread::hardware_concurrency()) + "; features="));
  CHECK(absl::EndsWith(platform.description, "; compiler=" + long_compiler.substr(0, 80) + "; device=none"));

  CHECK(local_platform(long_compiler, "none").fingerprint == platform.fingerprint);
  CHECK(local_platform(long_compiler, "cuda:0").fingerprint != platform.fingerprint);
  CHECK(local_platform("clang 16", "none").fingerprint != platform.fingerprint);
}

}  // namespace sejits::tuner
