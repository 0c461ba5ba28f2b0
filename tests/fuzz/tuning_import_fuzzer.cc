// libFuzzer target: the tuning database's JSON-lines import (what
// `sejits tune import` reads from a file someone else exported). Invariant:
// whatever import accepts, export prints, and importing that export again
// finds every record already present (no malformed line).
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <string>

#include "spdlog/spdlog.h"
#include "tuner-db/tuning_db.h"

namespace fs = std::filesystem;

namespace {

std::unique_ptr<sejits::tuner::TuningDb> db;
fs::path scratch;

void remove_scratch() {
  db.reset();
  std::error_code ignored;
  fs::remove_all(scratch, ignored);
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int *, char ***) {
  spdlog::set_level(spdlog::level::off);
  // tmpfs when there is one: each import commits a transaction.
  std::string pattern = (fs::exists("/dev/shm") ? fs::path("/dev/shm") : fs::temp_directory_path()) / "sejits-fuzz-XXXXXX";
  if (mkdtemp(pattern.data()) == nullptr) abort();
  scratch = pattern;
  atexit(remove_scratch);
  auto opened = sejits::tuner::TuningDb::open(scratch / "tuning.db");
  if (!opened.ok()) abort();
  db = std::move(*opened);
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  auto imported = db->import_jsonl(std::string(reinterpret_cast<const char *>(data), size), "fuzz");
  if (!imported.ok()) abort();  // a bad line is counted as malformed, never an error
  if (imported->imported > 0) {
    auto exported = db->export_jsonl();
    if (!exported.ok()) abort();
    auto again = db->import_jsonl(*exported, "fuzz-export");
    if (!again.ok() || again->malformed != 0 || again->imported != 0) abort();
  }
  if (!db->reset().ok()) abort();  // every input starts from an empty database
  return 0;
}
