// Code variants and the space a specializer offers for tuning. Plain types
// shared by the specializers (which declare spaces), the search and the
// database (which records variants by their canonical label).
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

namespace sejits::tuner {

// One point of a search space: parameter name -> value, every parameter of
// the space set. Applied to a request as "variant.<name>" params.
using Variant = std::map<std::string, std::string>;

// One tunable choice; `values` lists every value the search may try, the
// default among them.
struct TuningParameter {
  std::string name;
  std::vector<std::string> values;
  std::string default_value;
};

// The parameters in the order the search walks them (most effect first).
struct TuningSpace {
  std::vector<TuningParameter> parameters;

  bool empty() const { return parameters.empty(); }
  // Every parameter at its default.
  Variant default_variant() const;
  // Number of points of the full product (capped at 1e9).
  int64_t size() const;
  // Every point of the product, in lexicographic order of the parameters.
  std::vector<Variant> all_variants() const;
  // True when every parameter of the space is set to one of its values.
  bool contains(const Variant &variant) const;
};

// "name=value,name=value" sorted by name: how variants are stored and shown.
std::string variant_label(const Variant &variant);
// The inverse of variant_label; nullopt when the text is not a label.
std::optional<Variant> parse_variant_label(const std::string &label);

}  // namespace sejits::tuner
