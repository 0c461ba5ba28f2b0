// Publishes files atomically: write a temporary beside the target, fsync,
// rename over the target. Readers see the old file or the new one, never a part.
#pragma once

#include <filesystem>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace sejits::codegen {

absl::Status write_file_atomically(const std::filesystem::path &path, std::string_view bytes);

// Moves `source` (on the same file system) to `path` after an fsync.
absl::Status publish_file_atomically(const std::filesystem::path &source,
                                     const std::filesystem::path &path);

absl::StatusOr<std::string> read_file(const std::filesystem::path &path);

}  // namespace sejits::codegen
