// The values the daemon and the Python client share come from one definition
// each (codegen/include/sejits/): the kernel ABI's dtype table agrees with the
// wire's enum, the daemon's dtype code reads the table, the platform names are
// the ones the daemon parses, and the x86-64 level rule answers the sample
// cpuinfo lines that tests/python/test_shared_tables.py checks the client on.
#include <cctype>
#include <fstream>
#include <set>
#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include "codegen/host_platform.h"
#include "codegen/include/sejits/kernel_abi.h"
#include "codegen/include/sejits/worker_platform.h"
#include "sejits/v1/ast.pb.h"
#include "specializers/common/dtype.h"
#include "specializers/platforms.h"
#include "specializers/request.h"

namespace sejits {
namespace {

struct DtypeRow {
  int32_t code;
  std::string name;
  int64_t itemsize;
  char kind;
};

std::vector<DtypeRow> dtype_table() {
  return {
#define SEJITS_TEST_DTYPE_ROW(NAME, CODE, TEXT, SIZE, KIND) {CODE, TEXT, SIZE, KIND},
      SEJITS_DTYPES(SEJITS_TEST_DTYPE_ROW)
#undef SEJITS_TEST_DTYPE_ROW
  };
}

std::string upper(std::string text) {
  for (char &c : text) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return text;
}

TEST_CASE("every kernel dtype has the wire enum's number for its name", "[shared_tables]") {
  std::set<int32_t> codes;
  for (const DtypeRow &row : dtype_table()) {
    INFO(row.name);
    REQUIRE(v1::DType_IsValid(row.code));
    CHECK(v1::DType_Name(static_cast<v1::DType>(row.code)) == upper(row.name));
    CHECK(codes.insert(row.code).second);
  }
  // The wire names more dtypes (float16, complex, OTHER); none of them is a kernel's.
  for (int code = v1::DType_MIN; code <= v1::DType_MAX; ++code) {
    if (!v1::DType_IsValid(code)) continue;
    INFO(v1::DType_Name(static_cast<v1::DType>(code)));
    CHECK(specializers::is_supported_dtype(code) == (codes.count(code) == 1));
  }
}

TEST_CASE("the daemon's dtypes read the kernel ABI's table", "[shared_tables]") {
  for (const DtypeRow &row : dtype_table()) {
    const auto dtype = static_cast<specializers::DType>(row.code);
    INFO(row.name);
    CHECK(specializers::dtype_name(dtype) == row.name);
    CHECK(specializers::itemsize(dtype) == row.itemsize);
    CHECK(sejits_dtype_itemsize(row.code) == row.itemsize);
    const specializers::Kind expected = row.kind == 'b'   ? specializers::Kind::kBool
                                        : row.kind == 'u' ? specializers::Kind::kUnsigned
                                        : row.kind == 'f' ? specializers::Kind::kFloat
                                                          : specializers::Kind::kSigned;
    CHECK(specializers::kind_of(dtype) == expected);
  }
  CHECK(sejits_dtype_itemsize(0) == 0);
  CHECK(sejits_dtype_name(v1::FLOAT16) == nullptr);
  CHECK(specializers::dtype_name(specializers::DType::kFloat16) == "float16");
}

TEST_CASE("the daemon parses exactly the shared platform names", "[shared_tables]") {
  CHECK(*specializers::parse_platform(SEJITS_PLATFORM_CPU_OPENMP) == specializers::Platform::kCpuOpenMp);
  CHECK(*specializers::parse_platform(SEJITS_PLATFORM_OPENCL) == specializers::Platform::kOpenCl);
  CHECK(*specializers::parse_platform(SEJITS_PLATFORM_NUMPY) == specializers::Platform::kNumpy);
  CHECK(std::string(specializers::kDefaultPlatform) == SEJITS_PLATFORM_CPU_OPENMP);
  CHECK(specializers::SpecializationRequest{}.platform == SEJITS_DEFAULT_PLATFORM);
  CHECK_FALSE(specializers::parse_platform("cpu").ok());
}

TEST_CASE("the x86-64 level of each sample cpuinfo line", "[shared_tables]") {
  std::ifstream in(std::string(SEJITS_GOLDEN_DIR) + "/isa_levels.txt");
  REQUIRE(in);
  int cases = 0;
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty() || line[0] == '#') continue;
    const size_t space = line.find(' ');
    REQUIRE(space != std::string::npos);
    const std::string expected = line.substr(0, space), features = line.substr(space + 1);
    INFO(features);
    CHECK(codegen::x86_64_isa_level(features) == expected);
    CHECK(codegen::is_x86_64_isa_level(expected));
    ++cases;
  }
  CHECK(cases >= 10);
}

TEST_CASE("the x86-64 levels a worker may name are the table's", "[shared_tables]") {
  std::vector<std::string> levels = {SEJITS_X86_64_BASELINE};
#define SEJITS_TEST_LEVEL(NAME, REQUIRED) levels.push_back(NAME);
  SEJITS_X86_64_LEVELS(SEJITS_TEST_LEVEL)
#undef SEJITS_TEST_LEVEL
  CHECK(levels == std::vector<std::string>{"x86-64", "x86-64-v2", "x86-64-v3", "x86-64-v4"});
  for (const std::string &level : levels) CHECK(codegen::is_x86_64_isa_level(level));
  CHECK_FALSE(codegen::is_x86_64_isa_level("x86-64-v5"));
  const char with_nul[] = "x86-64-v2\0 -fplugin=evil.so";
  CHECK_FALSE(codegen::is_x86_64_isa_level(std::string(with_nul, sizeof with_nul - 1)));
  CHECK_FALSE(codegen::is_x86_64_isa_level(""));
}

TEST_CASE("the features line is the first that starts with flags or Features", "[shared_tables]") {
  CHECK(sejits_is_cpu_features_line("flags\t\t: fpu"));
  CHECK(sejits_is_cpu_features_line("Features\t: fp asimd"));
  CHECK_FALSE(sejits_is_cpu_features_line("model name\t: Intel"));
  CHECK_FALSE(sejits_is_cpu_features_line(" flags: fpu"));
}

}  // namespace
}  // namespace sejits
