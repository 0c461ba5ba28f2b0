// The artifact store: blobs by digest, the key index, corruption detection,
// what survives a daemon restart, and least-recently-used eviction.
#include <chrono>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <catch2/catch.hpp>

#include "codegen/artifact_store.h"
#include "tests/unit/temp_dir.h"

namespace sejits::codegen {
namespace {

namespace fs = std::filesystem;
using sejits::testing::TempDir;

constexpr int64_t kUnbounded = int64_t{1} << 40;
// sha256("hello"), from `printf hello | sha256sum`.
constexpr char kHelloDigest[] = "2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824";

void write_bytes(const fs::path &path, const std::string &bytes) { std::ofstream(path, std::ios::binary) << bytes; }

std::string read_bytes(const fs::path &path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream contents;
  contents << in.rdbuf();
  return contents.str();
}

std::unique_ptr<ArtifactStore> open_store(const fs::path &root, int64_t max_bytes = kUnbounded) {
  auto store = ArtifactStore::open(root, max_bytes);
  REQUIRE(store.ok());
  return std::move(*store);
}

// Builds a file the way the compiler driver does (in a work directory of
// the store) and moves it into the store.
BlobInfo put_bytes(ArtifactStore &store, const std::string &bytes) {
  auto work_dir = store.make_work_dir();
  REQUIRE(work_dir.ok());
  const fs::path file = *work_dir / "kernel.so";
  write_bytes(file, bytes);
  auto blob = store.put_file(file);
  REQUIRE(blob.ok());
  fs::remove_all(*work_dir);
  return *blob;
}

// A 64-hex-digit index key that differs per `n`.
std::string key_number(int n) { return std::string(62, 'a') + (n < 10 ? "0" : "") + std::to_string(n); }

}  // namespace

TEST_CASE("put_file then get returns the same digest and bytes", "[artifact_store]") {
  TempDir dir;
  auto store = open_store(dir.path());
  auto work_dir = store->make_work_dir();
  REQUIRE(work_dir.ok());
  const fs::path built = *work_dir / "kernel.so";
  write_bytes(built, "hello");

  auto put = store->put_file(built);
  REQUIRE(put.ok());
  CHECK(put->digest == kHelloDigest);
  CHECK(put->bytes == 5);
  CHECK_FALSE(fs::exists(built));  // moved, not copied

  auto got = store->get(kHelloDigest);
  REQUIRE(got.ok());
  CHECK(got->digest == kHelloDigest);
  CHECK(got->path == put->path);
  CHECK(read_bytes(got->path) == "hello");
  CHECK(store->counters().entries == 1);
  CHECK(store->counters().bytes == 5);

  put_bytes(*store, "hello");  // the same content again is the same blob
  CHECK(store->counters().entries == 1);
}

TEST_CASE("get answers NOT_FOUND for an unknown digest and INVALID_ARGUMENT for a malformed one",
          "[artifact_store]") {
  TempDir dir;
  auto store = open_store(dir.path());
  CHECK(store->get(kHelloDigest).status().code() == absl::StatusCode::kNotFound);
  CHECK(store->get("../../etc/passwd").status().code() == absl::StatusCode::kInvalidArgument);
  CHECK(store->get(std::string(64, 'A')).status().code() == absl::StatusCode::kInvalidArgument);
}

TEST_CASE("index entries round-trip", "[artifact_store]") {
  TempDir dir;
  auto store = open_store(dir.path());
  const BlobInfo blob = put_bytes(*store, "hello");
  const std::string metadata = "entry=sejits_elementwise\nresult_dtype=11\n";

  REQUIRE(store->record_key(key_number(1), {blob.digest, metadata}).ok());
  auto entry = store->lookup_key(key_number(1));
  REQUIRE(entry.has_value());
  CHECK(entry->digest == blob.digest);
  CHECK(entry->metadata == metadata);

  CHECK_FALSE(store->lookup_key(key_number(2)).has_value());
  CHECK_FALSE(store->lookup_key("not-a-key").has_value());
  CHECK(store->record_key("not-a-key", {blob.digest, ""}).code() == absl::StatusCode::kInvalidArgument);
  CHECK(store->record_key(key_number(3), {"not-a-digest", ""}).code() == absl::StatusCode::kInvalidArgument);
}

TEST_CASE("a blob whose bytes changed on disk is removed on get", "[artifact_store]") {
  TempDir dir;
  auto store = open_store(dir.path());
  const BlobInfo blob = put_bytes(*store, "hello");
  {
    std::fstream file(blob.path, std::ios::in | std::ios::out | std::ios::binary);
    file.seekp(0);
    file.put('j');  // "jello": same size, different digest
  }

  auto got = store->get(blob.digest);
  CHECK(got.status().code() == absl::StatusCode::kNotFound);
  CHECK_FALSE(fs::exists(blob.path));
  const StoreCounters counters = store->counters();
  CHECK(counters.corrupt_removed == 1);
  CHECK(counters.entries == 0);
  CHECK(counters.bytes == 0);
}

// Longer than the store's timestamp granularity margin on file systems with
// sub-second times: a check after this pause is remembered (see FileIdentity).
constexpr auto kSettle = std::chrono::milliseconds(120);

TEST_CASE("a blob changed after a remembered check is detected, even with its old mtime put back",
          "[artifact_store]") {
  TempDir dir;
  auto store = open_store(dir.path());
  const BlobInfo blob = put_bytes(*store, "hello");
  REQUIRE(store->get(blob.digest).ok());  // hashed; writes the last-use time (a new ctime)
  std::this_thread::sleep_for(kSettle);
  REQUIRE(store->get(blob.digest).ok());  // hashed, and the file's identity remembered
  REQUIRE(store->get(blob.digest).ok());  // the identity is unchanged: not hashed
  const auto mtime = fs::last_write_time(blob.path);
  {
    std::fstream file(blob.path, std::ios::in | std::ios::out | std::ios::binary);
    file.seekp(0);
    file.put('j');  // same size
  }
  fs::last_write_time(blob.path, mtime);  // a writer that hides its change (the ctime still moves)

  CHECK(store->get(blob.digest).status().code() == absl::StatusCode::kNotFound);
  CHECK_FALSE(fs::exists(blob.path));
  CHECK(store->counters().corrupt_removed == 1);
}

TEST_CASE("get writes a blob's last-use time at most once per interval", "[artifact_store]") {
  TempDir dir;
  auto store = open_store(dir.path());
  const BlobInfo blob = put_bytes(*store, "hello");
  REQUIRE(store->get(blob.digest).ok());
  const auto hours_ago = fs::file_time_type::clock::now() - std::chrono::hours(3);
  fs::last_write_time(blob.path, hours_ago);
  REQUIRE(store->get(blob.digest).ok());  // hashed again (the ctime moved) but not touched
  CHECK(fs::last_write_time(blob.path) == hours_ago);
}

TEST_CASE("an index entry changed on disk is read again", "[artifact_store]") {
  TempDir dir;
  auto store = open_store(dir.path());
  const BlobInfo first = put_bytes(*store, "first"), second = put_bytes(*store, "second");
  REQUIRE(store->record_key(key_number(1), {first.digest, "n=1"}).ok());
  std::this_thread::sleep_for(kSettle);
  REQUIRE(store->lookup_key(key_number(1))->digest == first.digest);  // read, and remembered
  REQUIRE(store->lookup_key(key_number(1))->digest == first.digest);  // from memory

  fs::path entry_file;  // found by looking, not by knowing the store's private layout
  for (const auto &file : fs::recursive_directory_iterator(dir.path())) {
    if (file.is_regular_file() && file.path().filename().string().find(key_number(1).substr(2)) != std::string::npos) {
      entry_file = file.path();
    }
  }
  REQUIRE_FALSE(entry_file.empty());
  {
    std::fstream file(entry_file, std::ios::in | std::ios::out | std::ios::binary);  // in place: the same inode
    file.seekp(0);
    file << second.digest << "\nn=2";
  }
  auto entry = store->lookup_key(key_number(1));
  REQUIRE(entry.has_value());
  CHECK(entry->digest == second.digest);
  CHECK(entry->metadata == "n=2");

  fs::remove(entry_file);
  CHECK_FALSE(store->lookup_key(key_number(1)).has_value());
}

TEST_CASE("a reopened store keeps its blobs and index (daemon restart)", "[artifact_store]") {
  TempDir dir;
  std::vector<BlobInfo> blobs;
  {
    auto store = open_store(dir.path());
    for (int n = 0; n < 3; ++n) {
      blobs.push_back(put_bytes(*store, "artifact " + std::to_string(n)));
      REQUIRE(store->record_key(key_number(n), {blobs.back().digest, "n=" + std::to_string(n)}).ok());
    }
  }

  auto reopened = open_store(dir.path());
  CHECK(reopened->counters().entries == 3);
  CHECK(reopened->counters().bytes == 3 * static_cast<int64_t>(std::string("artifact 0").size()));
  for (int n = 0; n < 3; ++n) {
    auto entry = reopened->lookup_key(key_number(n));
    REQUIRE(entry.has_value());
    CHECK(entry->digest == blobs[n].digest);
    CHECK(entry->metadata == "n=" + std::to_string(n));
    auto got = reopened->get(entry->digest);
    REQUIRE(got.ok());
    CHECK(read_bytes(got->path) == "artifact " + std::to_string(n));
  }
}

TEST_CASE("opening a store removes what unfinished builds and publishes left", "[artifact_store]") {
  TempDir dir;
  fs::path abandoned_build, abandoned_publish;
  {
    auto store = open_store(dir.path());
    const BlobInfo blob = put_bytes(*store, "hello");
    auto work_dir = store->make_work_dir();
    REQUIRE(work_dir.ok());
    abandoned_build = *work_dir;
    write_bytes(abandoned_build / "kernel.cc", "// a build the daemon never finished");
    abandoned_publish = blob.path.parent_path() / (".tmp." + blob.path.filename().string() + ".4242.0");
    write_bytes(abandoned_publish, "half a shared object");
  }

  auto reopened = open_store(dir.path());
  CHECK_FALSE(fs::exists(abandoned_build));
  CHECK_FALSE(fs::exists(abandoned_publish));
  CHECK(reopened->counters().entries == 1);
  CHECK(reopened->counters().bytes == 5);
  CHECK(reopened->get(kHelloDigest).ok());
}

TEST_CASE("evict_to_limit removes the least recently used blobs first", "[artifact_store]") {
  TempDir dir;
  constexpr int64_t kBound = 1000, kBlobBytes = 300;
  auto store = open_store(dir.path(), kBound);
  std::vector<BlobInfo> blobs;
  for (char fill : {'a', 'b', 'c', 'd', 'e'}) blobs.push_back(put_bytes(*store, std::string(kBlobBytes, fill)));
  REQUIRE(store->counters().bytes == 5 * kBlobBytes);

  // Last use, hours ago, per blob: d and b are the least recently used.
  const int hours_since_use[] = {1, 4, 2, 5, 3};
  const auto now = fs::file_time_type::clock::now();
  for (size_t k = 0; k < blobs.size(); ++k) {
    fs::last_write_time(blobs[k].path, now - std::chrono::hours(hours_since_use[k]));
  }

  store->evict_to_limit();

  const StoreCounters counters = store->counters();
  CHECK(counters.bytes <= kBound);
  CHECK(counters.bytes == 3 * kBlobBytes);
  CHECK(counters.entries == 3);
  CHECK(counters.evictions == 2);
  for (size_t k : {1, 3}) CHECK_FALSE(fs::exists(blobs[k].path));
  for (size_t k : {0, 2, 4}) CHECK(store->get(blobs[k].digest).ok());
}

TEST_CASE("evict_to_limit leaves a store under its bound alone", "[artifact_store]") {
  TempDir dir;
  auto store = open_store(dir.path(), 1000);
  const BlobInfo blob = put_bytes(*store, std::string(900, 'x'));
  fs::last_write_time(blob.path, fs::file_time_type::clock::now() - std::chrono::hours(100));
  store->evict_to_limit();
  CHECK(fs::exists(blob.path));
  CHECK(store->counters().evictions == 0);
}

}  // namespace sejits::codegen
