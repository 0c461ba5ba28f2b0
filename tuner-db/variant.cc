#include "tuner-db/variant.h"

#include <algorithm>

#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"

namespace sejits::tuner {
namespace {

constexpr int64_t kMaxSpaceSize = 1'000'000'000;

bool is_label_text(absl::string_view text) { return text.find_first_of(",=") == absl::string_view::npos; }

}  // namespace

Variant TuningSpace::default_variant() const {
  Variant variant;
  for (const TuningParameter &parameter : parameters) {
    // A parameter declared without a default starts at its first value.
    variant[parameter.name] = parameter.default_value.empty() && !parameter.values.empty() ? parameter.values.front()
                                                                                           : parameter.default_value;
  }
  return variant;
}

int64_t TuningSpace::size() const {
  int64_t size = 1;
  for (const TuningParameter &parameter : parameters) {
    const auto values = static_cast<int64_t>(parameter.values.size());
    if (values == 0) return 0;
    size = size > kMaxSpaceSize / values ? kMaxSpaceSize : std::min(size * values, kMaxSpaceSize);
  }
  return size;
}

std::vector<Variant> TuningSpace::all_variants() const {
  std::vector<Variant> variants;
  if (size() == 0) return variants;
  // An odometer over the value indices: the last parameter turns fastest.
  std::vector<size_t> digits(parameters.size(), 0);
  while (true) {
    Variant variant;
    for (size_t i = 0; i < parameters.size(); ++i) variant[parameters[i].name] = parameters[i].values[digits[i]];
    variants.push_back(std::move(variant));
    size_t position = parameters.size();
    while (position > 0 && ++digits[position - 1] == parameters[position - 1].values.size()) {
      digits[position - 1] = 0;
      --position;
    }
    if (position == 0) return variants;  // every digit wrapped around
  }
}

bool TuningSpace::contains(const Variant &variant) const {
  if (variant.size() != parameters.size()) return false;
  return std::all_of(parameters.begin(), parameters.end(), [&](const TuningParameter &parameter) {
    auto it = variant.find(parameter.name);
    return it != variant.end() &&
           std::find(parameter.values.begin(), parameter.values.end(), it->second) != parameter.values.end();
  });
}

std::string variant_label(const Variant &variant) { return absl::StrJoin(variant, ",", absl::PairFormatter("=")); }

std::optional<Variant> parse_variant_label(const std::string &label) {
  Variant variant;
  if (label.empty()) return variant;
  for (absl::string_view part : absl::StrSplit(label, ',')) {
    const size_t equals = part.find('=');
    if (equals == absl::string_view::npos || equals == 0) return std::nullopt;
    absl::string_view name = part.substr(0, equals);
    absl::string_view value = part.substr(equals + 1);
    if (!is_label_text(value)) return std::nullopt;
    if (!variant.emplace(std::string(name), std::string(value)).second) return std::nullopt;  // a name twice
  }
  return variant;
}

}  // namespace sejits::tuner
