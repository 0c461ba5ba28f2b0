// The C++ printer: literals read back bit for bit, the source of a fixed
// kernel matches its golden file, and no request text reaches the source.
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <limits>
#include <sstream>
#include <string>

#include <catch2/catch.hpp>

#include "codegen/cpp_printer.h"
#include "specializers/pipeline.h"
#include "tests/unit/ast_builders.h"

namespace {

// The AST builders are used unqualified; codegen has names of its own (add, assign).
using namespace sejits::testing;
using sejits::codegen::CType;
using sejits::codegen::Literal;
using sejits::codegen::print_cpp_literal;
using sejits::specializers::DType;

// "(0.1)" -> "0.1", "(1.5f)" -> "1.5", "(-5LL)" -> "-5", "7ULL" -> "7".
std::string strip_literal_decoration(std::string text) {
  if (text.size() >= 2 && text.front() == '(' && text.back() == ')') text = text.substr(1, text.size() - 2);
  while (!text.empty() && (text.back() == 'f' || text.back() == 'L' || text.back() == 'U')) text.pop_back();
  return text;
}

template <typename T>
bool same_bits(T a, T b) {
  return std::memcmp(&a, &b, sizeof(T)) == 0;
}

std::string golden_path(const std::string &name) { return std::string(SEJITS_GOLDEN_DIR) + "/" + name; }

std::string read_text(const std::string &path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream contents;
  contents << in.rdbuf();
  return contents.str();
}

TEST_CASE("double literals read back bit-exact", "[cpp_printer]") {
  const double value = GENERATE(0.1, 1e300, 5e-324, -0.0, 0.0, 1.0 / 3.0, -2.5, 1e22, 123456789012345680000.0,
                                std::numeric_limits<double>::max(), std::numeric_limits<double>::min(),
                                std::numeric_limits<double>::epsilon());
  const std::string printed = print_cpp_literal(Literal{CType::kFloat64, value});
  INFO(printed);
  const double parsed = std::strtod(strip_literal_decoration(printed).c_str(), nullptr);
  CHECK(same_bits(parsed, value));
  CHECK(printed.find_first_of(".e") != std::string::npos);  // a double literal, never an int
}

TEST_CASE("float32 literals read back bit-exact", "[cpp_printer]") {
  const float value = GENERATE(0.1f, 1.0f / 3.0f, -0.0f, 16777216.0f, 1e-45f, std::numeric_limits<float>::max(),
                               std::numeric_limits<float>::min(), 3.4e38f);
  const std::string printed = print_cpp_literal(Literal{CType::kFloat32, static_cast<double>(value)});
  INFO(printed);
  CHECK(printed.size() > 3);
  CHECK(printed.substr(printed.size() - 2) == "f)");  // float, not a double narrowed at run time
  const float parsed = std::strtof(strip_literal_decoration(printed).c_str(), nullptr);
  CHECK(same_bits(parsed, value));
}

TEST_CASE("non-finite literals use the compiler builtins", "[cpp_printer]") {
  const double inf = std::numeric_limits<double>::infinity();
  const double nan = std::numeric_limits<double>::quiet_NaN();
  CHECK(print_cpp_literal(Literal{CType::kFloat64, nan}) == "__builtin_nan(\"\")");
  CHECK(print_cpp_literal(Literal{CType::kFloat32, nan}) == "__builtin_nanf(\"\")");
  CHECK(print_cpp_literal(Literal{CType::kFloat64, inf}) == "__builtin_inf()");
  CHECK(print_cpp_literal(Literal{CType::kFloat64, -inf}) == "(-__builtin_inf())");
  CHECK(print_cpp_literal(Literal{CType::kFloat32, inf}) == "__builtin_inff()");
  CHECK(print_cpp_literal(Literal{CType::kFloat32, -inf}) == "(-__builtin_inff())");
}

TEST_CASE("integer literals keep their value at the extremes", "[cpp_printer]") {
  const int64_t int64_max = std::numeric_limits<int64_t>::max();
  const int64_t int64_min = std::numeric_limits<int64_t>::min();
  const uint64_t uint64_max = std::numeric_limits<uint64_t>::max();
  CHECK(print_cpp_literal(Literal{CType::kInt64, int64_max}) == "(9223372036854775807LL)");
  // -9223372036854775808LL would be a negated out-of-range literal in C++.
  CHECK(print_cpp_literal(Literal{CType::kInt64, int64_min}) == "(-9223372036854775807LL - 1)");
  CHECK(print_cpp_literal(Literal{CType::kUInt64, uint64_max}) == "18446744073709551615ULL");

  const int64_t value = GENERATE(as<int64_t>{}, 0, 1, -1, 2147483647, -2147483648LL, 2147483648LL, -2147483649LL,
                                 9223372036854775807LL);
  const std::string printed = print_cpp_literal(Literal{CType::kInt64, value});
  INFO(printed);
  CHECK(std::strtoll(strip_literal_decoration(printed).c_str(), nullptr, 10) == value);
}

TEST_CASE("the element-wise blend kernel prints as its golden file", "[cpp_printer]") {
  // def blend(a, x, y):
  //     t = a * x + (1 - a) * y
  //     return t if t > 0 else 0.0
  const auto function =
      def({"a", "x", "y"},
          {assign(2, "t", add(mul(name("a"), name("x")), mul(sub(integer(1), name("a")), name("y")))),
           return_value(3, if_exp(greater(name("t"), integer(0)), name("t"), number(0.0)))},
          "blend");
  auto generated = sejits::specializers::run_pipeline(
      elementwise_request(function, {python_float(), array_of(DType::kFloat64), array_of(DType::kFloat64)}));
  REQUIRE(generated.ok());

  const std::string golden = golden_path("elementwise_blend.cc");
  const char *update = std::getenv("SEJITS_UPDATE_GOLDEN");
  if (update != nullptr && std::string(update) == "1") {
    std::ofstream(golden, std::ios::binary) << generated->source;
    WARN("rewrote " << golden);
  }
  INFO("rerun with SEJITS_UPDATE_GOLDEN=1 to accept a deliberate change to the generated code");
  CHECK(generated->source == read_text(golden));
}

TEST_CASE("the generated source holds no text from the request", "[cpp_printer]") {
  const auto function = def({"evil_name_x", "evil_name_y"},
                            {return_value(2, mul(add(name("evil_name_x"), number(0.25)), name("evil_name_y")))},
                            "evil_function");
  auto request = elementwise_request(function, {array_of(DType::kFloat64), array_of(DType::kFloat32)});
  auto generated = sejits::specializers::run_pipeline(request);
  REQUIRE(generated.ok());
  for (const char *identifier : {"evil_name_x", "evil_name_y", "evil_function", "evil", kKernelFile}) {
    INFO(identifier);
    CHECK(generated->source.find(identifier) == std::string::npos);
  }
}

}  // namespace
