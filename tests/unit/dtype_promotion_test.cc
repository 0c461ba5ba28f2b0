// promote_types and result_type against NumPy 2 itself: the reference table
// tests/golden/promotion_table.txt is captured by make_promotion_table.py.
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include "specializers/common/dtype.h"

namespace sejits::specializers {
namespace {

struct PromotionRow {
  std::string left, right, expected;
  int line = 0;
};

std::vector<PromotionRow> read_promotion_table() {
  std::ifstream in(std::string(SEJITS_GOLDEN_DIR) + "/promotion_table.txt");
  std::vector<PromotionRow> rows;
  std::string line;
  for (int number = 1; std::getline(in, line); ++number) {
    if (line.empty() || line[0] == '#') continue;
    PromotionRow row;
    std::istringstream(line) >> row.left >> row.right >> row.expected;
    row.line = number;
    rows.push_back(row);
  }
  return rows;
}

// An operand named as in the table: a dtype (strong) or a Python scalar (weak).
ScalarType operand_type(const std::string &name) {
  static const std::map<std::string, ScalarType> kPythonScalars = {
      {"python_bool", {DType::kBool, true}},
      {"python_int", {DType::kInt64, true}},
      {"python_float", {DType::kFloat64, true}},
  };
  if (auto it = kPythonScalars.find(name); it != kPythonScalars.end()) return it->second;
  for (int code = 1; code <= 12; ++code) {
    if (dtype_name(static_cast<DType>(code)) == name) return {static_cast<DType>(code), false};
  }
  FAIL("unknown operand name in the promotion table: " << name);
  return {};
}

}  // namespace

TEST_CASE("the promotion table covers every supported pair", "[dtype_promotion]") {
  const auto rows = read_promotion_table();
  const size_t dtypes = 11, python_scalars = 3;
  REQUIRE(rows.size() == dtypes * dtypes + dtypes * python_scalars + python_scalars * python_scalars);
}

TEST_CASE("result_type matches NumPy 2 for every row of the table", "[dtype_promotion]") {
  const auto rows = read_promotion_table();
  REQUIRE_FALSE(rows.empty());
  for (const auto &row : rows) {
    INFO("promotion_table.txt:" << row.line << ": " << row.left << " with " << row.right);
    const ScalarType left = operand_type(row.left), right = operand_type(row.right);
    const ScalarType result = result_type(left, right);
    CHECK(dtype_name(result.dtype) == row.expected);
    CHECK(result.weak == (left.weak && right.weak));  // only two Python scalars stay weak
    CHECK(result == result_type(right, left));
    if (!left.weak && !right.weak) CHECK(dtype_name(promote_types(left.dtype, right.dtype)) == row.expected);
  }
}

TEST_CASE("promote_types is the identity on equal dtypes, float16 included", "[dtype_promotion]") {
  const DType dtype = static_cast<DType>(GENERATE(range(1, 13)));
  CHECK(promote_types(dtype, dtype) == dtype);
}

TEST_CASE("promotions that NumPy answers with float16", "[dtype_promotion]") {
  // Not in the table (float16 is not a supported argument dtype), but the
  // front ends rely on seeing float16 here to reject the kernel.
  CHECK(promote_types(DType::kInt8, DType::kFloat16) == DType::kFloat16);
  CHECK(promote_types(DType::kUInt8, DType::kFloat16) == DType::kFloat16);
  CHECK(promote_types(DType::kInt16, DType::kFloat16) == DType::kFloat32);
  CHECK(promote_types(DType::kFloat16, DType::kFloat32) == DType::kFloat32);
}

}  // namespace sejits::specializers
