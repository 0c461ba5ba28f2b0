// SHA-256 digests as lowercase hex, of bytes or of a file.
#pragma once

#include <filesystem>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"

namespace sejits::codegen {

std::string sha256_hex(std::string_view bytes);
absl::StatusOr<std::string> sha256_file_hex(const std::filesystem::path &path);

// Builds a digest over tagged fields, so that no two fields can collide:
// each field is written as tag, length, bytes.
class TaggedHasher {
 public:
  TaggedHasher();
  ~TaggedHasher();
  TaggedHasher(const TaggedHasher &) = delete;
  TaggedHasher &operator=(const TaggedHasher &) = delete;
  void add(std::string_view tag, std::string_view value);
  std::string hex_digest();

 private:
  void *context_;
};

}  // namespace sejits::codegen
