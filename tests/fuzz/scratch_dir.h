// A fuzz target's scratch directory: on tmpfs when there is one (inputs are
// written to files), created on first use, removed when the process exits.
// A target that keeps files open in it registers its own atexit() after the
// first call: handlers run in reverse order, so it closes them first.
#pragma once

#include <stdlib.h>

#include <filesystem>
#include <string>

namespace sejits::fuzzing {

inline const std::filesystem::path &scratch_dir() {
  namespace fs = std::filesystem;
  // Never destroyed: the atexit handler below still needs it.
  static const fs::path *dir = [] {
    std::string pattern = (fs::exists("/dev/shm") ? fs::path("/dev/shm") : fs::temp_directory_path()) / "sejits-fuzz-XXXXXX";
    if (mkdtemp(pattern.data()) == nullptr) abort();
    return new fs::path(pattern);
  }();
  static const bool removal_registered = atexit([] {
    std::error_code ignored;
    fs::remove_all(*dir, ignored);
  }) == 0;
  (void)removal_registered;
  return *dir;
}

}  // namespace sejits::fuzzing
