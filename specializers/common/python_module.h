// The text of a generated Python module: module-level constants, helper
// functions and one entry function, printed with consistent indentation.
// Identifiers are the printer's own; values are printed from parsed numbers,
// never copied from the request.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "specializers/common/dtype.h"

namespace sejits::specializers {

// A Python float literal that reads back bit for bit ("0.1", "-0.0",
// "np.inf", "np.nan"): a Python float, weak under NEP 50.
std::string python_float_literal(double value);
// "np.float32", "np.bool_", ...: the NumPy scalar type of a dtype.
std::string numpy_type_name(DType dtype);

class PythonModule {
 public:
  // Lines of the entry function's body, at `indent` levels below its def.
  void line(int indent, const std::string &text);
  // A module-level name for `expression` (a NumPy constant, computed once at
  // import); the same expression gets the same name.
  std::string constant(const std::string &expression);
  // Helpers (small functions, exception classes) printed once, before the entry.
  void helper(const std::string &name, const std::string &definition);

  // "import numpy as np", the header comment, the constants, the helpers, then
  // `def <entry>(args, out):` over the body lines.
  std::string text(const std::string &entry, const std::vector<std::string> &header_comment) const;

 private:
  std::vector<std::string> body_;
  std::vector<std::pair<std::string, std::string>> constants_;  // name, expression
  std::map<std::string, std::string> constant_names_;           // expression -> name
  std::vector<std::pair<std::string, std::string>> helpers_;   // name, definition
};

}  // namespace sejits::specializers
