// Publishes files atomically: write a temporary beside the target, fsync,
// rename over the target. Readers see the old file or the new one, never a part.
#pragma once

#include <filesystem>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace sejits::codegen {

absl::Status write_file_atomically(const std::filesystem::path &path, std::string_view bytes);

// Moves `source` (on the same file system) to `path` after an fsync.
absl::Status publish_file_atomically(const std::filesystem::path &source,
                                     const std::filesystem::path &path);

absl::StatusOr<std::string> read_file(const std::filesystem::path &path);

// TEST-ONLY fault injection (tests/reliability/test_crash_safety.py). When the
// environment variable SEJITS_TEST_CRASH_AT is `point`, or `point:TEXT` and
// `detail` contains TEXT, the process logs the point and kills itself with
// SIGKILL right there, as `kill -9` or a power cut would. Unset (always, in
// production), it costs one test of a flag read once.
void crash_point_for_tests(absl::string_view point, absl::string_view detail = "");

}  // namespace sejits::codegen
