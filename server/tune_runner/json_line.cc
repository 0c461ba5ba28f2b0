#include "server/tune_runner/json_line.h"

#include <charconv>
#include <cstdint>
#include <cstdio>
#include <system_error>

namespace sejits::tune_runner {
namespace {

// Length of the well-formed UTF-8 sequence at the start of `text` (1 to 4),
// or 0 if it starts with a byte that cannot begin one there.
size_t utf8_sequence_length(std::string_view text) {
  const auto byte = [&](size_t i) { return static_cast<uint8_t>(text[i]); };
  const uint8_t lead = byte(0);
  size_t length;
  uint8_t low = 0x80, high = 0xBF;  // bounds of the second byte
  if (lead < 0x80) return 1;
  if (lead >= 0xC2 && lead <= 0xDF) {
    length = 2;
  } else if (lead >= 0xE0 && lead <= 0xEF) {
    length = 3;
    if (lead == 0xE0) low = 0xA0;   // overlong
    if (lead == 0xED) high = 0x9F;  // surrogates
  } else if (lead >= 0xF0 && lead <= 0xF4) {
    length = 4;
    if (lead == 0xF0) low = 0x90;   // overlong
    if (lead == 0xF4) high = 0x8F;  // beyond U+10FFFF
  } else {
    return 0;
  }
  if (text.size() < length || byte(1) < low || byte(1) > high) return 0;
  for (size_t i = 2; i < length; ++i) {
    if (byte(i) < 0x80 || byte(i) > 0xBF) return 0;
  }
  return length;
}

void append_escaped(std::string &out, std::string_view text) {
  while (!text.empty()) {
    const char c = text.front();
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      default:
        if (static_cast<uint8_t>(c) < 0x20 || c == 0x7f) {
          char escaped[8];
          std::snprintf(escaped, sizeof escaped, "\\u%04x", static_cast<unsigned>(static_cast<uint8_t>(c)));
          out += escaped;
        } else if (size_t length = utf8_sequence_length(text)) {
          out.append(text.substr(0, length));
          text.remove_prefix(length);
          continue;
        } else {
          out += "\\ufffd";
        }
    }
    text.remove_prefix(1);
  }
}

}  // namespace

std::string samples_json_line(const std::vector<double> &seconds) {
  std::string line = "{\"samples\":[";
  for (size_t i = 0; i < seconds.size(); ++i) {
    if (i) line += ',';
    // The shortest text that reads back as the same double, e.g. 1.229346e-03.
    char number[32];
    auto [end, failure] = std::to_chars(number, number + sizeof number, seconds[i], std::chars_format::scientific);
    line.append(number, failure == std::errc() ? end : number);
  }
  line += "]}\n";
  return line;
}

std::string error_json_line(std::string_view message) {
  std::string line = "{\"error\":\"";
  append_escaped(line, message);
  line += "\"}\n";
  return line;
}

}  // namespace sejits::tune_runner
