// libFuzzer target: the artifact store's index reader. The input becomes the
// contents of an index entry (as a torn write, a disk error or another
// program could leave it), then lookup_key and get() read it back; the input
// is also tried as a key (nothing but 64 hex digits may reach the disk).
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>

#include "codegen/artifact_store.h"
#include "spdlog/spdlog.h"
#include "tests/fuzz/scratch_dir.h"

namespace fs = std::filesystem;
using sejits::codegen::ArtifactStore;

namespace {

const std::string kKey(64, 'c');
std::unique_ptr<ArtifactStore> store;
fs::path entry_file;  // the index file record_key wrote for kKey

}  // namespace

extern "C" int LLVMFuzzerInitialize(int *, char ***) {
  spdlog::set_level(spdlog::level::off);
  const fs::path &scratch = sejits::fuzzing::scratch_dir();  // every input is a file write
  auto opened = ArtifactStore::open(scratch / "store", 1 << 20);
  if (!opened.ok()) abort();
  store = std::move(*opened);
  // Find the entry's file by looking, not by knowing the store's private layout.
  if (!store->record_key(kKey, {std::string(64, 'd'), "entry=x\n"}).ok()) abort();
  for (const auto &file : fs::recursive_directory_iterator(scratch / "store")) {
    if (file.is_regular_file() && file.path().filename().string().find(kKey.substr(2)) != std::string::npos) entry_file = file.path();
  }
  if (entry_file.empty()) abort();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  const std::string bytes(reinterpret_cast<const char *>(data), size);
  {
    std::ofstream out(entry_file, std::ios::binary | std::ios::trunc);
    out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  }
  if (auto entry = store->lookup_key(kKey)) {
    if (!sejits::codegen::is_hex_digest(entry->digest)) abort();  // lookup_key promises a digest
    (void)store->get(entry->digest);
  }
  if (store->lookup_key(bytes) && !sejits::codegen::is_hex_digest(bytes)) abort();
  return 0;
}
