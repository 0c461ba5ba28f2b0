// The artifact interface: what the pipeline declares for each domain, its
// round trips through the store's text form and the protocol, and the output
// shapes its rules give.
#include <catch2/catch.hpp>

#include "server/rpc/interface_proto.h"
#include "specializers/interface.h"
#include "specializers/pipeline.h"
#include "tests/unit/ast_builders.h"

namespace {

using namespace sejits::testing;
namespace v1 = sejits::v1;
using sejits::specializers::Dimension;
using sejits::specializers::DType;
using sejits::specializers::EntryParam;
using sejits::specializers::EntryPoint;
using sejits::specializers::KernelInterface;
using sejits::specializers::ParamRole;
using sejits::specializers::SpecializationRequest;
using Shapes = std::vector<std::vector<int64_t>>;

// A library-style interface: two entries, outputs shaped by axes, a param
// and a constant, and one whose shape an entry computes.
KernelInterface library_interface() {
  EntryPoint stats{"stats", "lib_stats", {}};
  stats.params.push_back({"x", ParamRole::kInput, DType::kFloat32, {}});
  stats.params.push_back({"scale", ParamRole::kScalar, DType::kFloat64, {}});
  stats.params.push_back({"means", ParamRole::kOutput, DType::kFloat64, {{}, {Dimension::of_axis(0, -1)}, {}}});
  stats.params.push_back({"powers", ParamRole::kOutput, DType::kFloat32,
                          {{}, {Dimension::of_param("k"), Dimension::of_constant(2), Dimension::of_axis(0, 0)}, {}}});
  stats.params.push_back({"total", ParamRole::kOutput, DType::kInt64, {}});  // 0-d
  EntryPoint pick{"pick", "lib_pick", {}};
  pick.params.push_back({"x", ParamRole::kInOut, DType::kFloat32, {}});
  pick.params.push_back({"scratch", ParamRole::kWorkspace, DType::kUInt8, {{0}, {}, {}}});
  pick.params.push_back({"chosen", ParamRole::kOutput, DType::kInt32, {{}, {}, "pick_shape"}});
  return {{stats, pick}};
}

SpecializationRequest scale_request(const std::string &specializer, std::vector<sejits::specializers::ArgSpec> args) {
  SpecializationRequest request;
  request.specializer = specializer;
  request.args = std::move(args);
  if (specializer == "stencil") {
    v1::Expr index;
    *index.mutable_tuple()->add_elts() = integer(1);
    *index.mutable_tuple()->add_elts() = integer(0);
    request.function = std::make_shared<const v1::FunctionAst>(
        def({"u", "k"}, {return_value(2, mul(name("k"), subscript(name("u"), index)))}, "shift"));
  } else {
    request.function = std::make_shared<const v1::FunctionAst>(
        def({"k", "x", "y"}, {return_value(2, add(mul(name("k"), name("x")), name("y")))}, "axpy"));
  }
  return request;
}

}  // namespace

TEST_CASE("an interface round-trips through the store's text and the protocol", "[interface]") {
  const KernelInterface interface = library_interface();
  auto from_text = sejits::specializers::interface_from_text(sejits::specializers::interface_to_text(interface));
  REQUIRE(from_text.ok());
  CHECK(*from_text == interface);

  v1::KernelInterface wire;
  sejits::server::rpc::to_proto(interface, wire);
  v1::KernelInterface reparsed;
  REQUIRE(reparsed.ParseFromString(wire.SerializeAsString()));
  auto from_wire = sejits::server::rpc::from_proto(reparsed);
  REQUIRE(from_wire.ok());
  CHECK(*from_wire == interface);
}

TEST_CASE("text an older daemon or a corrupt index wrote is refused, not guessed", "[interface]") {
  CHECK_FALSE(sejits::specializers::interface_from_text("").ok());
  CHECK_FALSE(sejits::specializers::interface_from_text("param x input 11 -\n").ok());  // no entry before it
  CHECK_FALSE(sejits::specializers::interface_from_text("entry call f\nparam x sideways 11 -\n").ok());
  CHECK_FALSE(sejits::specializers::interface_from_text("entry call f\nparam x output 999 b:0\n").ok());
  CHECK_FALSE(sejits::specializers::interface_from_text("entry call f\nparam x output 11 d:q7\n").ok());
}

TEST_CASE("output shapes follow broadcasting, axes, params and constants", "[interface]") {
  const KernelInterface interface = library_interface();
  const EntryPoint &stats = *interface.entry("stats").value();
  const Shapes shapes = {{5, 3}, {}, {}, {}, {}};
  CHECK(sejits::specializers::output_shape(stats, 2, shapes, {}).value() == std::vector<int64_t>{3});
  CHECK(sejits::specializers::output_shape(stats, 3, shapes, {{"k", "4"}}).value() == std::vector<int64_t>{4, 2, 5});
  CHECK(sejits::specializers::output_shape(stats, 4, shapes, {}).value().empty());
  // A missing or negative param, or a rule that needs the shape entry, is an error that says so.
  auto missing = sejits::specializers::output_shape(stats, 3, shapes, {});
  REQUIRE_FALSE(missing.ok());
  CHECK(std::string(missing.status().message()).find("'k'") != std::string::npos);
  CHECK_FALSE(sejits::specializers::output_shape(stats, 3, shapes, {{"k", "-1"}}).ok());
  const EntryPoint &pick = *interface.entry("pick").value();
  auto computed = sejits::specializers::output_shape(pick, 2, {{7}, {}, {}}, {});
  REQUIRE_FALSE(computed.ok());
  CHECK(std::string(computed.status().message()).find("pick_shape") != std::string::npos);
  CHECK(sejits::specializers::output_shape(pick, 1, {{7}, {}, {}}, {}).value() == std::vector<int64_t>{7});
}

TEST_CASE("a request for a role the artifact lacks names the roles it has", "[interface]") {
  auto missing = library_interface().entry("iterate");
  REQUIRE_FALSE(missing.ok());
  CHECK(missing.status().code() == absl::StatusCode::kNotFound);
  CHECK(std::string(missing.status().message()).find("stats, pick") != std::string::npos);
}

TEST_CASE("an element-wise artifact's call broadcasts its array inputs", "[interface]") {
  auto generated = sejits::specializers::run_pipeline(
      scale_request("elementwise", {python_float(), array_of(DType::kFloat64, 2), array_of(DType::kFloat64, 1)}));
  REQUIRE(generated.ok());
  REQUIRE(generated->interface.entries.size() == 1);
  const EntryPoint &call = *generated->interface.entry("call").value();
  REQUIRE(call.params.size() == 4);
  CHECK(call.params[0].role == ParamRole::kScalar);
  CHECK(call.params[1].role == ParamRole::kInput);
  CHECK(call.params[3].role == ParamRole::kOutput);
  CHECK(call.params[3].dtype == DType::kFloat64);
  const Shapes shapes = {{}, {4, 1}, {6}, {}};
  CHECK(sejits::specializers::output_shape(call, 3, shapes, {}).value() == std::vector<int64_t>{4, 6});
  CHECK_FALSE(sejits::specializers::output_shape(call, 3, {{}, {4, 2}, {6}, {}}, {}).ok());
}

TEST_CASE("a stencil artifact offers call and, where the variant blocks in time, iterate", "[interface]") {
  auto request = scale_request("stencil", {array_of(DType::kFloat32, 2), python_float()});
  auto generated = sejits::specializers::run_pipeline(request);
  REQUIRE(generated.ok());
  const EntryPoint &call = *generated->interface.entry("call").value();
  CHECK(call.params.back().role == ParamRole::kOutput);
  CHECK(sejits::specializers::output_shape(call, 2, {{9, 7}, {}, {}}, {}).value() == std::vector<int64_t>{9, 7});
  const EntryPoint &iterate = *generated->interface.entry("iterate").value();
  REQUIRE(iterate.params.size() == 5);
  CHECK(iterate.params[2].role == ParamRole::kWorkspace);
  CHECK(iterate.params[3].role == ParamRole::kScalar);
  CHECK(iterate.params[3].dtype == DType::kInt64);
  CHECK(generated->source.find(iterate.symbol) != std::string::npos);

  // A variant without temporal blocking defines no iterate entry, and says so.
  request.params["variant.temporal_blocking"] = "0";
  auto untimed = sejits::specializers::run_pipeline(request);
  REQUIRE(untimed.ok());
  CHECK_FALSE(untimed->interface.entry("iterate").ok());
  CHECK(untimed->source.find(iterate.symbol) == std::string::npos);
}
