// The NumPy printer (the "numpy" platform): fixed kernels print as their
// golden modules, literals read back bit for bit, each boundary pads with its
// np.pad mode, what has no vectorized form is refused by name, and the core
// answers without compiling or storing.
#include <cmath>
#include <cstdlib>
#include <fstream>
#include <limits>
#include <sstream>
#include <string>

#include <catch2/catch.hpp>

#include "absl/strings/str_cat.h"
#include "server/core/specializer_core.h"
#include "specializers/common/python_module.h"
#include "specializers/pipeline.h"
#include "specializers/platforms.h"
#include "tests/unit/ast_builders.h"
#include "tests/unit/core_fixture.h"
#include "tests/unit/temp_dir.h"

namespace {

using namespace sejits::testing;
namespace v1 = sejits::v1;
using sejits::specializers::ArgSpec;
using sejits::specializers::DType;
using sejits::specializers::SpecializationRequest;

std::string golden_path(const std::string &name) { return std::string(SEJITS_GOLDEN_DIR) + "/" + name; }

std::string read_text(const std::string &path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream contents;
  contents << in.rdbuf();
  return contents.str();
}

void check_golden(const std::string &name, const std::string &source) {
  const std::string golden = golden_path(name);
  const char *update = std::getenv("SEJITS_UPDATE_GOLDEN");
  if (update != nullptr && std::string(update) == "1") {
    std::ofstream(golden, std::ios::binary) << source;
    WARN("rewrote " << golden);
  }
  INFO("rerun with SEJITS_UPDATE_GOLDEN=1 to accept a deliberate change to the generated module");
  CHECK(source == read_text(golden));
}

// `name[i, j]`
v1::Expr at(const std::string &array, int64_t i, int64_t j) {
  v1::Expr index;
  *index.mutable_tuple()->add_elts() = integer(i);
  *index.mutable_tuple()->add_elts() = integer(j);
  return subscript(name(array), index);
}

// def blend(a, x, y):
//     t = a * x + (1 - a) * y
//     return t if t > 0 else 0.0
SpecializationRequest blend_request() {
  auto request = elementwise_request(
      def({"a", "x", "y"},
          {assign(2, "t", add(mul(name("a"), name("x")), mul(sub(integer(1), name("a")), name("y")))),
           return_value(3, if_exp(greater(name("t"), integer(0)), name("t"), number(0.0)))},
          "blend"),
      {python_float(), array_of(DType::kFloat64), array_of(DType::kFloat64)});
  request.platform = sejits::specializers::kNumpyPlatform;
  return request;
}

// def laplace(a, k): return k * (a[0, 1] + a[0, -1] + a[1, 0] + a[-1, 0] - 4 * a[0, 0])
SpecializationRequest laplace_request(const std::string &boundary, DType dtype = DType::kFloat64) {
  SpecializationRequest request;
  request.specializer = "stencil";
  request.platform = sejits::specializers::kNumpyPlatform;
  v1::Expr sum = sub(add(add(add(at("a", 0, 1), at("a", 0, -1)), at("a", 1, 0)), at("a", -1, 0)), mul(integer(4), at("a", 0, 0)));
  request.function = std::make_shared<const v1::FunctionAst>(
      def({"a", "k"}, {return_value(2, mul(name("k"), sum))}, "laplace"));
  request.args = {array_of(dtype, 2), python_float()};
  request.params = {{"boundary", boundary}, {"cval", "1.5"}};
  return request;
}

TEST_CASE("the blend kernel prints as its golden NumPy module", "[numpy_printer]") {
  auto generated = sejits::specializers::run_pipeline(blend_request());
  REQUIRE(generated.ok());
  CHECK(generated->interface.entries.front().symbol == "sejits_elementwise_numpy");
  CHECK(generated->interface.result_dtype() == DType::kFloat64);
  CHECK(generated->source.rfind("import numpy as np\n", 0) == 0);
  check_golden("numpy_blend.py", generated->source);
}

TEST_CASE("a constant-boundary stencil computes the interior and writes cval on the border", "[numpy_printer]") {
  auto generated = sejits::specializers::run_pipeline(laplace_request("constant"));
  REQUIRE(generated.ok());
  CHECK(generated->interface.entries.front().symbol == "sejits_stencil_numpy");
  check_golden("numpy_laplace_constant.py", generated->source);
}

TEST_CASE("each boundary mode pads with its np.pad mode; skip leaves the border", "[numpy_printer]") {
  const auto [boundary, padding] = GENERATE(table<std::string, std::string>({
      {"nearest", "mode=\"edge\""}, {"reflect", "mode=\"symmetric\""}, {"mirror", "mode=\"reflect\""},
      {"wrap", "mode=\"wrap\""}, {"skip", ""}, {"constant", ""}}));
  auto generated = sejits::specializers::run_pipeline(laplace_request(boundary, DType::kInt32));
  REQUIRE(generated.ok());
  INFO(generated->source);
  CHECK(generated->interface.result_dtype() == DType::kFloat64);  // int32 grid times a Python float
  if (!padding.empty()) {
    CHECK(generated->source.find(absl::StrCat("p0 = np.pad(a0, ((1, 1), (1, 1)), ", padding, ")")) != std::string::npos);
    CHECK(generated->source.find("r3 = p0[:n0, 1:n1 + 1]") != std::string::npos);  // a[-1, 0]
  } else {
    CHECK(generated->source.find("np.pad") == std::string::npos);
    CHECK(generated->source.find("r3 = a0[lo0 - 1:hi0 - 1, lo1:hi1]") != std::string::npos);
  }
  CHECK((generated->source.find("= K1") != std::string::npos) == (boundary == "constant"));  // the cval border
  CHECK(generated->source.find(".astype(np.float64)") != std::string::npos);                  // the int32 reads, cast
}

TEST_CASE("a signed integer power inside a conditional has no vectorized form", "[numpy_printer]") {
  // lambda a, b: a ** b if b >= 0 else 0
  auto request = elementwise_request(
      lambda({"a", "b"}, if_exp(compare(name("b"), v1::GT_E, integer(0)), bin_op(v1::POW, name("a"), name("b")), integer(0))),
      {array_of(DType::kInt64), array_of(DType::kInt64)});
  request.platform = sejits::specializers::kNumpyPlatform;
  auto generated = sejits::specializers::run_pipeline(request);
  REQUIRE_FALSE(generated.ok());
  CHECK(generated.status().code() == absl::StatusCode::kFailedPrecondition);
  CHECK(std::string(generated.status().message()).rfind("no vectorized NumPy form: a signed integer power inside a conditional", 0) == 0);

  request.args = {array_of(DType::kFloat64), array_of(DType::kInt64)};  // a float power: NumPy never raises
  CHECK(sejits::specializers::run_pipeline(request).ok());
}

TEST_CASE("the NumPy module holds no text from the request", "[numpy_printer]") {
  auto request = elementwise_request(def({"evil_name_x", "evil_name_y"},
                                         {return_value(2, mul(add(name("evil_name_x"), number(0.25)), name("evil_name_y")))},
                                         "evil_function"),
                                     {array_of(DType::kFloat64), array_of(DType::kFloat32)});
  request.platform = sejits::specializers::kNumpyPlatform;
  auto generated = sejits::specializers::run_pipeline(request);
  REQUIRE(generated.ok());
  for (const char *identifier : {"evil_name_x", "evil_name_y", "evil_function", "evil", kKernelFile}) {
    INFO(identifier);
    CHECK(generated->source.find(identifier) == std::string::npos);
  }
}

TEST_CASE("Python float literals read back bit for bit", "[numpy_printer]") {
  const double value = GENERATE(0.1, 1e300, 5e-324, 0.0, 1.0 / 3.0, -2.5, 1e22, 2.0, std::numeric_limits<double>::max(),
                                std::numeric_limits<double>::min());
  const std::string printed = sejits::specializers::python_float_literal(value);
  INFO(printed);
  CHECK(std::strtod(printed.c_str(), nullptr) == value);
  CHECK(printed.find_first_of(".e") != std::string::npos);  // a float, never an int
  CHECK(sejits::specializers::python_float_literal(-0.0) == "-0.0");
  CHECK(sejits::specializers::python_float_literal(0.1) == "0.1");
  CHECK(sejits::specializers::python_float_literal(std::nan("")) == "np.nan");
  CHECK(sejits::specializers::python_float_literal(-INFINITY) == "-np.inf");
}

TEST_CASE("an unknown platform is refused naming the known ones", "[numpy_printer]") {
  auto request = blend_request();
  request.platform = "cuda";
  auto generated = sejits::specializers::run_pipeline(request);
  REQUIRE_FALSE(generated.ok());
  CHECK(std::string(generated.status().message()).find("known: cpu-openmp, opencl, numpy") != std::string::npos);
}

TEST_CASE("the core answers a numpy-platform request without compiling or storing", "[numpy_printer]") {
  TempDir cache;
  sejits::server::CoreConfig config;
  config.cache_dir = cache.path();
  config.compiler.compiler = "/nonexistent/compiler";  // a compile would fail
  auto core = sejits::server::SpecializerCore::create(config);
  REQUIRE(core.ok());
  sejits::server::SpecializeOptions options;
  options.tuning.mode = sejits::server::TuningMode::kOnline;  // no tuning on this platform, whatever is asked
  options.tuning.shape_class = "call:10:c";
  auto result = (*core)->specialize(blend_request(), options);
  REQUIRE(result.ok());
  CHECK(result->outcome == sejits::server::CacheOutcome::kNumpySource);
  CHECK(result->interface.entries.front().symbol == "sejits_elementwise_numpy");
  CHECK(result->artifact.digest.empty());
  CHECK(result->artifact.path.empty());
  CHECK(result->source.rfind("import numpy as np\n", 0) == 0);
  CHECK(result->tuning.candidates.empty());
  const auto stats = (*core)->stats();
  CHECK(stats.counters.compiles == 0);
  CHECK(stats.counters.compile_failures == 0);
  CHECK(stats.store.entries == 0);
}

}  // namespace
