// The runner's only output: one line of JSON on stdout.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace sejits::tune_runner {

// {"samples":[...]} with each sample in seconds, and a newline.
std::string samples_json_line(const std::vector<double> &seconds);

// {"error":"..."} and a newline. Quotes, backslashes and control characters
// are escaped; bytes that are not UTF-8 become U+FFFD, since a kernel's
// message may be anything.
std::string error_json_line(std::string_view message);

}  // namespace sejits::tune_runner
