// libFuzzer target: the tuning database's JSON-lines import (what
// `sejits tune import` reads from a file someone else exported). Invariant:
// whatever import accepts, export prints, and importing that export again
// finds every record already present (no malformed line).
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <string>

#include "spdlog/spdlog.h"
#include "tests/fuzz/scratch_dir.h"
#include "tuner-db/tuning_db.h"

namespace {

std::unique_ptr<sejits::tuner::TuningDb> db;

}  // namespace

extern "C" int LLVMFuzzerInitialize(int *, char ***) {
  spdlog::set_level(spdlog::level::off);
  // Each import commits a transaction: tmpfs is best.
  auto opened = sejits::tuner::TuningDb::open(sejits::fuzzing::scratch_dir() / "tuning.db");
  if (!opened.ok()) abort();
  db = std::move(*opened);
  atexit([] { db.reset(); });  // before the scratch directory goes
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
