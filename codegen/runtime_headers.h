// The kernel ABI and runtime headers, embedded in the daemon at build time so
// that an installed sejitsd needs no source tree.
#pragma once

#include <string_view>
#include <vector>

namespace sejits::codegen {

struct EmbeddedHeader {
  std::string_view name;  // file name under sejits/
  std::string_view text;
};

const std::vector<EmbeddedHeader> &runtime_headers();

}  // namespace sejits::codegen
