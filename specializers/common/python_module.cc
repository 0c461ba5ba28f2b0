#include "specializers/common/python_module.h"

#include <cmath>
#include <cstdlib>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace sejits::specializers {

std::string python_float_literal(double value) {
  if (std::isnan(value)) return "np.nan";
  if (std::isinf(value)) return value > 0 ? "np.inf" : "-np.inf";
  // The shortest %g form that reads back as the same double, as Python's repr.
  std::string text;
  for (int digits = 1; digits <= 17; ++digits) {
    text = absl::StrFormat("%.*g", digits, value);
    if (std::strtod(text.c_str(), nullptr) == value && std::signbit(std::strtod(text.c_str(), nullptr)) == std::signbit(value)) break;
  }
  if (text.find_first_of(".en") == std::string::npos) text += ".0";  // a float, never an int
  return text;
}

std::string numpy_type_name(DType dtype) {
  return dtype == DType::kBool ? "np.bool_" : absl::StrCat("np.", dtype_name(dtype));
}

void PythonModule::line(int indent, const std::string &text) {
  body_.push_back(absl::StrCat(std::string(4 * (indent + 1), ' '), text));
}

std::string PythonModule::constant(const std::string &expression) {
  auto found = constant_names_.find(expression);
  if (found != constant_names_.end()) return found->second;
  std::string name = absl::StrCat("K", constants_.size());
  constants_.emplace_back(name, expression);
  constant_names_.emplace(expression, name);
  return name;
}

void PythonModule::helper(const std::string &name, const std::string &definition) {
  for (const auto &[known, unused] : helpers_) {
    if (known == name) return;
  }
  helpers_.emplace_back(name, definition);
}

std::string PythonModule::text(const std::string &entry, const std::vector<std::string> &header_comment) const {
  std::string out = "import numpy as np\n\n";
  for (const std::string &comment : header_comment) absl::StrAppend(&out, "# ", comment, "\n");
  if (!constants_.empty()) {
    absl::StrAppend(&out, "\n");
    // Casts of constants may warn (a NaN cval made an integer); the kernel's
    // values are C's, silently.
    absl::StrAppend(&out, "with np.errstate(all=\"ignore\"):\n");
    for (const auto &[name, expression] : constants_) absl::StrAppend(&out, "    ", name, " = ", expression, "\n");
    absl::StrAppend(&out, "\n");
  }
  for (const auto &[name, definition] : helpers_) absl::StrAppend(&out, "\n", definition, "\n");
  absl::StrAppend(&out, "\ndef ", entry, "(args, out):\n");
  for (const std::string &line : body_) absl::StrAppend(&out, line, "\n");
  absl::StrAppend(&out, "    return None\n");
  return out;
}

}  // namespace sejits::specializers
