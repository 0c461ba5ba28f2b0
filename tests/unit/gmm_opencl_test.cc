// The gmm specializer on OpenCL (specializers/gmm/lower_opencl.cc): the
// same entry points as on the CPU, each instantiating
// sejits/gmm_opencl_runtime.h; the device program (sejits/gmm_opencl.cl
// after its #defines) embedded in the artifact; the OpenCL variants (wg_x,
// rows) and their refusals; the OpenCL printer's device runtime files. The
// arithmetic is tested on PoCL from Python (tests/python/test_mixture_opencl.py).
#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include "codegen/opencl_printer.h"
#include "specializers/gmm/factory.h"
#include "specializers/pipeline.h"
#include "tests/unit/ast_builders.h"

namespace {

using namespace sejits::testing;
namespace sp = sejits::specializers;
namespace cg = sejits::codegen;
using sp::DType;

sp::SpecializationRequest opencl_request(const std::string &covariance, int64_t components, int64_t features,
                                         DType dtype = DType::kFloat64) {
  sp::SpecializationRequest request;
  request.specializer = "gmm";
  request.platform = sp::kOpenClPlatform;
  sp::ArgSpec x = array_of(dtype, 2);
  x.shape = {100, features};
  x.strides = {features * sp::itemsize(dtype), sp::itemsize(dtype)};
  request.args = {x};
  request.params = {{"covariance_type", covariance},
                    {"n_components", std::to_string(components)},
                    {"n_features", std::to_string(features)}};
  return request;
}

std::vector<std::string> roles_of(const sp::KernelInterface &interface) {
  std::vector<std::string> roles;
  for (const sp::EntryPoint &entry : interface.entries) roles.push_back(entry.role);
  return roles;
}

bool contains(const std::string &text, const std::string &part) { return text.find(part) != std::string::npos; }

}  // namespace

TEST_CASE("gmm on OpenCL has the CPU's entry points over the OpenCL runtime", "[gmm_opencl]") {
  auto generated = sp::run_pipeline(opencl_request("full", 16, 8, DType::kFloat32));
  REQUIRE(generated.ok());
  CHECK(roles_of(generated->interface) ==
        std::vector<std::string>{"call", "em_iteration", "e_step", "m_step", "score_samples", "predict"});
  auto cpu_request = opencl_request("full", 16, 8, DType::kFloat32);
  cpu_request.platform = sp::kCpuOpenMpPlatform;
  auto cpu = sp::run_pipeline(cpu_request);
  REQUIRE(cpu.ok());
  REQUIRE(cpu->interface.entries.size() == generated->interface.entries.size());
  for (size_t k = 0; k < cpu->interface.entries.size(); ++k) {
    const sp::EntryPoint &ours = generated->interface.entries[k], &theirs = cpu->interface.entries[k];
    INFO(ours.role);
    CHECK(ours.symbol == theirs.symbol);
    REQUIRE(ours.params.size() == theirs.params.size());
    for (size_t p = 0; p < ours.params.size(); ++p) {
      CHECK(ours.params[p].name == theirs.params[p].name);
      CHECK(ours.params[p].role == theirs.params[p].role);
      CHECK(ours.params[p].dtype == theirs.params[p].dtype);
    }
  }
  CHECK(generated->libraries == std::vector<std::string>{"-lOpenCL"});

  const std::string &source = generated->source;
  CHECK(contains(source, "#include \"sejits/opencl_runtime.h\""));
  CHECK(contains(source, "#include \"sejits/gmm_opencl_runtime.h\""));
  CHECK(!contains(source, "#include \"sejits/gmm_runtime.h\""));
  CHECK(contains(source, "sejits_gmm_cl::fit<float, 0, 8, 16, 256, 1024>(args, nargs, sejits_opencl_source, "
                         "sejits_opencl_digest, error, error_len)"));
  CHECK(contains(source, "sejits_gmm_cl::per_row<float, 0, 8, 16, 256, 1024, 2>"));  // predict: labels
  CHECK(contains(source, "sejits_gmm_cl::m_step<float, 0, 8, 16, 256, 1024>"));
  // The device program: the prelude, the #defines, then the EM kernels.
  CHECK(contains(source, "static const char sejits_opencl_digest[]"));
  for (const char *define : {"#define GMM_T float\\n", "#define GMM_COV 0\\n", "#define GMM_D 8L\\n", "#define GMM_M 16L\\n",
                             "#define GMM_WG 256L\\n"}) {
    INFO(define);
    CHECK(contains(source, define));
  }
  CHECK(source.find("#define GMM_WG 256L") < source.find("__kernel void gmm_gather("));
  for (const char *kernel : {"gmm_gather(", "gmm_fold(", "gmm_score(", "gmm_predict(", "gmm_log_resp("}) {
    CHECK(contains(source, std::string("__kernel void ") + kernel));
  }
}

TEST_CASE("gmm on OpenCL: each covariance type and dtype is a #define", "[gmm_opencl]") {
  const std::vector<std::pair<std::string, int>> types = {{"full", 0}, {"tied", 1}, {"diag", 2}, {"spherical", 3}};
  for (const auto &[covariance, number] : types) {
    auto generated = sp::run_pipeline(opencl_request(covariance, 3, 5));
    REQUIRE(generated.ok());
    INFO(covariance);
    CHECK(contains(generated->source, "#define GMM_T double\\n"));
    CHECK(contains(generated->source, "#define GMM_COV " + std::to_string(number) + "\\n"));
    CHECK(contains(generated->source, "sejits_gmm_cl::em_iteration<double, " + std::to_string(number) + ", 5, 3, 256, 1024>"));
  }
}

TEST_CASE("gmm OpenCL variants: work-group size, rows per group and the model's memory, validated", "[gmm_opencl]") {
  auto request = opencl_request("tied", 3, 5);
  request.params["variant.wg_x"] = "64";
  request.params["variant.rows"] = "512";
  auto generated = sp::run_pipeline(request);
  REQUIRE(generated.ok());
  CHECK(contains(generated->source, "sejits_gmm_cl::fit<double, 1, 5, 3, 64, 512>"));
  CHECK(contains(generated->source, "#define GMM_WG 64L\\n"));
  bool described = false;
  for (const std::string &note : generated->notes) {
    described |= note == "variant: work-groups of 64 work items, 512 rows per group, the model's means and precision factors "
                         "read from a copy in local memory";
  }
  CHECK(described);
  CHECK(contains(generated->source, "#define GMM_LOCAL_MODEL 1\\n"));  // the default where the model fits

  request.params["variant.model"] = "global";
  auto global = sp::run_pipeline(request);
  REQUIRE(global.ok());
  CHECK(contains(global->source, "#define GMM_LOCAL_MODEL 0\\n"));
  // full, M = 64, D = 32, float64: 64 * (32 + 32 * 32) + 32 values, far past 32 KiB of local memory
  auto large = opencl_request("full", 32, 64);
  auto large_default = sp::run_pipeline(large);
  REQUIRE(large_default.ok());
  CHECK(contains(large_default->source, "#define GMM_LOCAL_MODEL 0\\n"));
  large.params["variant.model"] = "local";
  auto too_large = sp::run_pipeline(large);
  REQUIRE(!too_large.ok());
  CHECK(contains(std::string(too_large.status().message()), "do not fit the 32768 bytes of local memory"));

  const std::vector<std::pair<std::string, std::string>> refused = {
      {"variant.wg_x", "0"}, {"variant.wg_x", "2048"}, {"variant.wg_x", "x"}, {"variant.rows", "0"},
      {"variant.threads", "half"},  // a C++/OpenMP variant
      {"variant.tile", "64"},       // likewise
      {"variant.items", "4"}, {"variant.model", "constant"}};
  for (const auto &[name, value] : refused) {
    auto bad = opencl_request("tied", 3, 5);
    bad.params[name] = value;
    INFO(name << "=" << value);
    CHECK(!sp::run_pipeline(bad).ok());
  }
  // and the OpenCL ones on the CPU
  auto cpu = opencl_request("tied", 3, 5);
  cpu.platform = sp::kCpuOpenMpPlatform;
  cpu.params["variant.wg_x"] = "64";
  CHECK(!sp::run_pipeline(cpu).ok());
}

TEST_CASE("gmm's tuning space on OpenCL is its work-groups and where the model is read", "[gmm_opencl]") {
  auto specializer = sp::make_gmm_specializer();
  auto space = specializer->tuning_space(opencl_request("diag", 2, 2), "");
  std::vector<std::string> names;
  for (const auto &parameter : space.parameters) names.push_back(parameter.name);
  CHECK(names == std::vector<std::string>{"wg_x", "rows", "model"});
  names.clear();  // a model past local memory: no "model" to choose
  for (const auto &parameter : specializer->tuning_space(opencl_request("full", 32, 64), "").parameters) {
    names.push_back(parameter.name);
  }
  CHECK(names == std::vector<std::string>{"wg_x", "rows"});
  auto cpu = opencl_request("diag", 2, 2);
  cpu.platform = sp::kCpuOpenMpPlatform;
  names.clear();
  for (const auto &parameter : specializer->tuning_space(cpu, "").parameters) names.push_back(parameter.name);
  CHECK(names == std::vector<std::string>{"threads", "tile", "mstep", "passes", "estep"});
}

TEST_CASE("the OpenCL printer puts device runtime files after their #defines", "[gmm_opencl]") {
  cg::TranslationUnit unit;
  unit.device_defines = {{"GMM_T", "float"}, {"GMM_COV", "2"}, {"GMM_D", "4L"}, {"GMM_M", "2L"}, {"GMM_WG", "32L"}};
  unit.device_runtime = {"gmm_opencl.cl"};
  CHECK(unit.has_device_code());
  const std::string program = cg::print_opencl(unit);
  const size_t prelude = program.find("NumPy's arithmetic semantics"), define = program.find("#define GMM_WG 32L\n"),
               runtime = program.find("__kernel void gmm_gather(");
  REQUIRE(prelude != std::string::npos);
  REQUIRE(define != std::string::npos);
  REQUIRE(runtime != std::string::npos);
  CHECK(prelude < define);
  CHECK(define < runtime);

  unit.device_runtime = {"no_such_file.cl"};
  CHECK(contains(cg::print_opencl(unit), "#error \"sejits: no embedded OpenCL runtime file no_such_file.cl\""));
  CHECK(!cg::TranslationUnit{}.has_device_code());
}
