// The Gaussian-mixture specializer ("gmm"), a library kernel: its params and
// their refusals, its six entry points and their shapes per covariance type,
// its variants, and the generated source (a golden file) that instantiates
// sejits/gmm_runtime.h. The EM arithmetic is tested against scikit-learn
// from Python (tests/python/test_mixture*.py).
#include <cstdlib>
#include <fstream>
#include <sstream>

#include <catch2/catch.hpp>

#include "specializers/gmm/factory.h"
#include "specializers/interface.h"
#include "specializers/pipeline.h"
#include "tests/unit/ast_builders.h"

namespace {

using namespace sejits::testing;
namespace sp = sejits::specializers;
using sp::DType;
using sp::ParamRole;
using Shape = std::vector<int64_t>;

sp::ArgSpec matrix(DType dtype, int64_t rows, int64_t cols) {
  sp::ArgSpec x = array_of(dtype, 2);
  x.shape = {rows, cols};
  x.strides = {cols * sp::itemsize(dtype), sp::itemsize(dtype)};
  return x;
}

sp::SpecializationRequest gmm_request(const std::string &covariance, int64_t components, int64_t features,
                                      DType dtype = DType::kFloat64, int64_t rows = 100) {
  sp::SpecializationRequest request;
  request.specializer = "gmm";
  request.args = {matrix(dtype, rows, features)};
  request.params = {{"covariance_type", covariance},
                    {"n_components", std::to_string(components)},
                    {"n_features", std::to_string(features)}};
  return request;
}

absl::StatusOr<sp::KernelInterface> interface_of(const sp::SpecializationRequest &request) {
  auto specializer = sp::make_gmm_specializer();
  auto ir = specializer->front_end(request);
  if (!ir.ok()) return ir.status();
  return specializer->kernel_interface(**ir, request);
}

std::string refusal(const sp::SpecializationRequest &request) {
  auto ir = sp::make_gmm_specializer()->front_end(request);
  return ir.ok() ? std::string("accepted") : std::string(ir.status().message());
}

// The shape of `name` in `entry` for X of `rows` rows (inputs and scalars given as empty shapes).
Shape shape_of(const sp::EntryPoint &entry, const std::string &name, int64_t rows, int64_t features) {
  std::vector<std::vector<int64_t>> shapes(entry.params.size());
  shapes[0] = {rows, features};
  for (size_t k = 0; k < entry.params.size(); ++k) {
    if (entry.params[k].name == name) return sp::output_shape(entry, static_cast<int>(k), shapes, {}).value();
  }
  FAIL("no parameter " << name);
  return {};
}

std::vector<std::string> names_of(const sp::EntryPoint &entry) {
  std::vector<std::string> names;
  for (const sp::EntryParam &param : entry.params) names.push_back(param.name);
  return names;
}

}  // namespace

TEST_CASE("gmm offers the EM loop and its steps as entry points", "[gmm]") {
  auto interface = interface_of(gmm_request("full", 4, 3));
  REQUIRE(interface.ok());
  std::vector<std::string> roles;
  for (const sp::EntryPoint &entry : interface->entries) roles.push_back(entry.role);
  CHECK(roles == std::vector<std::string>{"call", "em_iteration", "e_step", "m_step", "score_samples", "predict"});

  const sp::EntryPoint &call = *interface->entry("call").value();
  CHECK(names_of(call) == std::vector<std::string>{"X", "reg_covar", "tol", "start_bound", "weights", "means",
                                                   "precisions_cholesky", "covariances", "lower_bounds", "progress"});
  CHECK(call.params[1].role == ParamRole::kScalar);
  CHECK(call.params[4].role == ParamRole::kInOut);
  CHECK(call.params[8].dtype == DType::kFloat64);
  CHECK(call.params[9].role == ParamRole::kOutput);
  CHECK(shape_of(call, "progress", 100, 3) == Shape{2});

  const sp::EntryPoint &e_step = *interface->entry("e_step").value();
  CHECK(names_of(e_step) == std::vector<std::string>{"X", "weights", "means", "precisions_cholesky", "log_resp", "log_prob_norm"});
  CHECK(shape_of(e_step, "log_resp", 100, 3) == Shape{100, 4});
  CHECK(shape_of(e_step, "log_prob_norm", 7, 3) == Shape{7});

  const sp::EntryPoint &m_step = *interface->entry("m_step").value();
  CHECK(names_of(m_step) == std::vector<std::string>{"X", "resp", "reg_covar", "nk", "means", "covariances", "precisions_cholesky"});
  CHECK(shape_of(m_step, "means", 100, 3) == Shape{4, 3});

  const sp::EntryPoint &predict = *interface->entry("predict").value();
  CHECK(predict.params.back().dtype == DType::kInt64);
  CHECK(shape_of(predict, "labels", 9, 3) == Shape{9});
}

TEST_CASE("gmm's covariance arrays have scikit-learn's shape per covariance type", "[gmm]") {
  const std::vector<std::pair<std::string, Shape>> expected = {
      {"full", {5, 3, 3}}, {"tied", {3, 3}}, {"diag", {5, 3}}, {"spherical", {5}}};
  for (const auto &[covariance, shape] : expected) {
    for (DType dtype : {DType::kFloat32, DType::kFloat64}) {
      auto interface = interface_of(gmm_request(covariance, 5, 3, dtype));
      REQUIRE(interface.ok());
      const sp::EntryPoint &m_step = *interface->entry("m_step").value();
      INFO(covariance);
      CHECK(shape_of(m_step, "covariances", 10, 3) == shape);
      CHECK(shape_of(m_step, "precisions_cholesky", 10, 3) == shape);
      CHECK(m_step.params[4].dtype == dtype);
    }
  }
}

TEST_CASE("gmm refuses requests it cannot serve, naming the problem", "[gmm]") {
  CHECK(refusal(gmm_request("full", 2, 3)) == "accepted");
  CHECK(refusal(gmm_request("banana", 2, 3)).find("'covariance_type' must be 'full', 'tied', 'diag' or 'spherical'") !=
        std::string::npos);
  CHECK(refusal(gmm_request("full", 0, 3)).find("'n_components' must be an integer from 1") != std::string::npos);
  CHECK(refusal(gmm_request("full", 2, 3, DType::kInt64)).find("must be float32 or float64, not int64") != std::string::npos);

  auto mismatch = gmm_request("diag", 2, 3);
  mismatch.args[0] = matrix(DType::kFloat64, 10, 4);
  CHECK(refusal(mismatch).find("X has 4 features, but param 'n_features' is 3") != std::string::npos);

  auto vector = gmm_request("diag", 2, 3);
  vector.args[0] = array_of(DType::kFloat64, 1);
  CHECK(refusal(vector).find("must be 2-D") != std::string::npos);

  auto missing = gmm_request("diag", 2, 3);
  missing.params.erase("n_features");
  CHECK(refusal(missing).find("'n_features' is missing") != std::string::npos);

  auto unknown = gmm_request("diag", 2, 3);
  unknown.params["n_init"] = "3";
  CHECK(refusal(unknown).find("unknown param 'n_init'") != std::string::npos);

  auto with_function = gmm_request("diag", 2, 3);
  with_function.function = std::make_shared<sejits::v1::FunctionAst>();
  CHECK(refusal(with_function).find("takes params, not a function's AST") != std::string::npos);
}

TEST_CASE("gmm variants: threads and tile rows, validated", "[gmm]") {
  auto request = gmm_request("tied", 3, 5);
  request.params["variant.tile"] = "128";
  request.params["variant.threads"] = "half";
  auto generated = sp::run_pipeline(request);
  REQUIRE(generated.ok());
  CHECK(generated->source.find("sejits_gmm::fit<double, 1, 5, 3, 128, 0, 0, 0>") != std::string::npos);

  for (const char *bad : {"8", "100", "1024", "x"}) {
    request.params["variant.tile"] = bad;
    auto refused = sp::run_pipeline(request);
    INFO(bad);
    CHECK(!refused.ok());
  }
  request.params["variant.tile"] = "64";
  request.params["variant.mstep"] = "components";
  auto components = sp::run_pipeline(request);
  REQUIRE(components.ok());
  CHECK(components->source.find("sejits_gmm::fit<double, 1, 5, 3, 64, 1, 0, 0>") != std::string::npos);
  CHECK(components->source.find("sejits_gmm::em_iteration<double, 1, 5, 3, 64, 1, 0, 0>") != std::string::npos);
  request.params["variant.passes"] = "separate";
  auto separate = sp::run_pipeline(request);
  REQUIRE(separate.ok());
  CHECK(separate->source.find("sejits_gmm::fit<double, 1, 5, 3, 64, 1, 1, 0>") != std::string::npos);
  CHECK(separate->source.find("separate E and M passes") != std::string::npos);
  request.params["variant.estep"] = "online";
  auto online = sp::run_pipeline(request);
  REQUIRE(online.ok());
  CHECK(online->source.find("sejits_gmm::em_iteration<double, 1, 5, 3, 64, 1, 1, 1>") != std::string::npos);
  CHECK(online->source.find("online log-sum-exp") != std::string::npos);
  request.params["variant.estep"] = "gemm";
  CHECK(!sp::run_pipeline(request).ok());
  request.params.erase("variant.estep");
  request.params["variant.passes"] = "unfused";
  CHECK(!sp::run_pipeline(request).ok());
  request.params["variant.passes"] = "fused";
  request.params["variant.mstep"] = "columns";
  CHECK(!sp::run_pipeline(request).ok());
}

TEST_CASE("gmm's generated source instantiates the runtime, as its golden file", "[gmm]") {
  auto generated = sp::run_pipeline(gmm_request("full", 16, 8, DType::kFloat32));
  REQUIRE(generated.ok());
  const std::string golden = std::string(SEJITS_GOLDEN_DIR) + "/gmm_full_float32.cc";
  const char *update = std::getenv("SEJITS_UPDATE_GOLDEN");
  if (update != nullptr && std::string(update) == "1") {
    std::ofstream(golden, std::ios::binary) << generated->source;
    WARN("rewrote " << golden);
  }
  std::ifstream in(golden, std::ios::binary);
  std::ostringstream contents;
  contents << in.rdbuf();
  INFO("rerun with SEJITS_UPDATE_GOLDEN=1 to accept a deliberate change to the generated code");
  CHECK(generated->source == contents.str());
  CHECK(generated->source.find("#include \"sejits/gmm_runtime.h\"") != std::string::npos);
}
