// The sparse-matrix specializer ("sparse"), a library kernel: its params and
// their refusals, the entry points of its two operations (products: y = A x
// and a CG iteration; powers), its variants, and the generated source (a
// golden file) that instantiates sejits/sparse_runtime.h. The arithmetic is
// tested against SciPy from Python (tests/python/test_sparse_*.py).
#include <cstdlib>
#include <fstream>
#include <sstream>

#include <catch2/catch.hpp>

#include "specializers/interface.h"
#include "specializers/pipeline.h"
#include "specializers/sparse/factory.h"
#include "tests/unit/ast_builders.h"

namespace {

using namespace sejits::testing;
namespace sp = sejits::specializers;
using sp::DType;
using sp::ParamRole;

sp::SpecializationRequest sparse_request(std::map<std::string, std::string> params, DType values = DType::kFloat64,
                                         DType indices = DType::kInt32) {
  sp::SpecializationRequest request;
  request.specializer = "sparse";
  request.args = {array_of(values, 1), array_of(indices, 1)};
  request.params = std::move(params);
  return request;
}

std::string refusal(const sp::SpecializationRequest &request) {
  auto ir = sp::make_sparse_specializer()->front_end(request);
  return ir.ok() ? std::string("accepted") : std::string(ir.status().message());
}

sp::KernelInterface interface_of(const sp::SpecializationRequest &request) {
  auto specializer = sp::make_sparse_specializer();
  auto ir = specializer->front_end(request);
  REQUIRE(ir.ok());
  return specializer->kernel_interface(**ir, request);
}

std::vector<std::string> names_of(const sp::EntryPoint &entry) {
  std::vector<std::string> names;
  for (const auto &param : entry.params) names.push_back(param.name);
  return names;
}

}  // namespace

TEST_CASE("sparse products offer y = A x and a CG iteration, powers the basis", "[sparse]") {
  const sp::KernelInterface products = interface_of(sparse_request({{"operation", "products"}}, DType::kFloat32));
  REQUIRE(products.entries.size() == 2);
  CHECK(products.entries[0].role == "call");
  CHECK(names_of(products.entries[0]) == std::vector<std::string>{"data", "indices", "indptr", "x", "y"});
  CHECK(products.entries[0].params[4].role == ParamRole::kInOut);
  CHECK(products.entries[0].params[1].dtype == DType::kInt32);
  CHECK(products.entries[1].role == "cg_iteration");
  CHECK(names_of(products.entries[1]) ==
        std::vector<std::string>{"data", "indices", "indptr", "x", "r", "z", "p", "q", "state"});
  CHECK(products.result_dtype() == DType::kFloat32);  // no outputs: the first in-out's

  const sp::KernelInterface powers =
      interface_of(sparse_request({{"operation", "powers"}, {"k", "8"}, {"basis", "chebyshev"}}, DType::kFloat64, DType::kInt64));
  REQUIRE(powers.entries.size() == 1);
  CHECK(names_of(powers.entries[0]) == std::vector<std::string>{"data", "indices", "indptr", "plan", "coeffs", "V"});
  CHECK(powers.entries[0].params[3].dtype == DType::kInt64);
}

TEST_CASE("sparse refuses requests it cannot serve, naming the problem", "[sparse]") {
  CHECK(refusal(sparse_request({})) == "accepted");
  CHECK(refusal(sparse_request({{"operation", "powers"}, {"k", "3"}})) == "accepted");
  CHECK(refusal(sparse_request({}, DType::kInt64)).find("argument data must be float32 or float64, not int64") !=
        std::string::npos);
  CHECK(refusal(sparse_request({}, DType::kFloat64, DType::kUInt32)).find("argument indices must be int32 or int64") !=
        std::string::npos);
  CHECK(refusal(sparse_request({{"operation", "powers"}, {"k", "0"}})).find("'k' must be an integer from 1 to 64") !=
        std::string::npos);
  CHECK(refusal(sparse_request({{"operation", "powers"}, {"k", "65"}})).find("'k' must be an integer from 1 to 64") !=
        std::string::npos);
  CHECK(refusal(sparse_request({{"operation", "powers"}, {"k", "2"}, {"basis", "legendre"}}))
            .find("'basis' must be 'monomial', 'newton' or 'chebyshev'") != std::string::npos);
  CHECK(refusal(sparse_request({{"operation", "transpose"}})).find("'operation' must be 'products' or 'powers'") !=
        std::string::npos);
  CHECK(refusal(sparse_request({{"k", "2"}})).find("belong to operation 'powers'") != std::string::npos);
  CHECK(refusal(sparse_request({{"shift", "2"}})).find("unknown param 'shift'") != std::string::npos);

  auto matrix = sparse_request({});
  matrix.args[0] = array_of(DType::kFloat64, 2);
  CHECK(refusal(matrix).find("argument data must be a 1-D array") != std::string::npos);
  auto one = sparse_request({});
  one.args.pop_back();
  CHECK(refusal(one).find("takes a CSR matrix's data, indices and (for its matrix class) indptr") != std::string::npos);
  auto with_indptr = sparse_request({});
  with_indptr.args.push_back(array_of(DType::kInt32, 1));
  CHECK(refusal(with_indptr) == "accepted");
  with_indptr.args[2] = array_of(DType::kInt64, 1);
  CHECK(refusal(with_indptr).find("argument indptr must be int32") != std::string::npos);
  auto with_function = sparse_request({});
  with_function.function = std::make_shared<sejits::v1::FunctionAst>();
  CHECK(refusal(with_function).find("takes params, not a function's AST") != std::string::npos);
}

TEST_CASE("sparse variants: threads and row groups, validated", "[sparse]") {
  auto request = sparse_request({{"operation", "powers"}, {"k", "4"}, {"basis", "newton"}, {"variant.threads", "1"}});
  auto generated = sp::run_pipeline(request);
  REQUIRE(generated.ok());
  CHECK(generated->source.find("sejits_sparse::powers<double, 4, 4, 1, 1>") != std::string::npos);
  CHECK(generated->source.find("row_groups=on") != std::string::npos);
  request.params["variant.row_groups"] = "off";
  generated = sp::run_pipeline(request);
  REQUIRE(generated.ok());
  CHECK(generated->source.find("sejits_sparse::powers<double, 4, 4, 1, 0>") != std::string::npos);
  request.params["variant.row_groups"] = "sometimes";
  CHECK(!sp::run_pipeline(request).ok());
  request.params.erase("variant.row_groups");
  request.params["variant.threads"] = "many";
  CHECK(!sp::run_pipeline(request).ok());
  request.params.erase("variant.threads");
  request.params["variant.blocks"] = "4";
  CHECK(!sp::run_pipeline(request).ok());
}

TEST_CASE("sparse's generated source instantiates the runtime, as its golden file", "[sparse]") {
  auto generated = sp::run_pipeline(sparse_request({{"operation", "products"}}, DType::kFloat32, DType::kInt64));
  REQUIRE(generated.ok());
  const std::string golden = std::string(SEJITS_GOLDEN_DIR) + "/sparse_products_float32_int64.cc";
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
  CHECK(generated->source.find("sejits_sparse::spmv<float, 8>") != std::string::npos);
  CHECK(generated->source.find("sejits_sparse::cg_iteration<float, 8>") != std::string::npos);
}

TEST_CASE("sparse tunes per matrix class: rows and stored entries per row", "[sparse]") {
  auto specializer = sp::make_sparse_specializer();
  auto request = sparse_request({{"operation", "powers"}, {"k", "8"}});
  request.args[0].shape = {5 * 4096};  // 4096 rows of 5 entries
  request.args[1].shape = {5 * 4096};
  request.args.push_back(array_of(DType::kInt32, 1));
  request.args[2].shape = {4097};
  CHECK(specializer->shape_class(request, "call") == "call:rows13:per_row3:c");
  request.args[2].shape = {1 + 5 * 4096 / 40};  // the same entries in rows of 40
  CHECK(specializer->shape_class(request, "call") == "call:rows10:per_row6:c");
  std::vector<std::string> names;
  for (const auto &parameter : specializer->tuning_space(request, "call:rows10:per_row6:c").parameters) {
    names.push_back(parameter.name);
  }
  CHECK(names == std::vector<std::string>{"threads", "row_groups"});
  request.params = {};
  CHECK(specializer->tuning_space(request, "call:rows10:per_row6:c").parameters.size() == 1);
}
