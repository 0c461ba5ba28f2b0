// The test-only library specializer test_column_stats: a request with params
// and no AST; an interface of two entries whose outputs have different shapes;
// clear errors for requests it cannot serve; and the C++ client's shape rules
// agreeing with the daemon's. (tests/e2e/library_kernel_client_test.cc calls
// its artifact through a real daemon.)
#include <catch2/catch.hpp>

#include "client-cpp/output_shapes.h"
#include "codegen/cpp_printer.h"
#include "server/core/request_key.h"
#include "server/rpc/convert.h"
#include "server/rpc/interface_proto.h"
#include "specializers/interface.h"
#include "specializers/pipeline.h"
#include "specializers/testing/column_stats_ir.h"
#include "specializers/testing/factory.h"
#include "tests/unit/ast_builders.h"

namespace {

using namespace sejits::testing;
namespace v1 = sejits::v1;
namespace sp = sejits::specializers;
using sp::DType;
using sp::ParamRole;
using Shapes = std::vector<std::vector<int64_t>>;

sp::SpecializationRequest column_stats_request(sp::ArgSpec x, std::map<std::string, std::string> params = {}) {
  sp::SpecializationRequest request;
  request.specializer = "test_column_stats";
  request.args = {std::move(x)};
  request.params = std::move(params);
  return request;
}

sp::ArgSpec matrix(DType dtype, int64_t rows, int64_t cols) {
  sp::ArgSpec x = array_of(dtype, 2);
  x.shape = {rows, cols};
  x.strides = {cols * sp::itemsize(dtype), sp::itemsize(dtype)};
  return x;
}

// front end -> interface, as the pipeline runs them.
absl::StatusOr<sp::KernelInterface> interface_of(const sp::Specializer &specializer, const sp::SpecializationRequest &request) {
  auto ir = specializer.front_end(request);
  if (!ir.ok()) return ir.status();
  return specializer.kernel_interface(**ir, request);
}

std::string message_of(const absl::Status &status) { return std::string(status.message()); }

}  // namespace

TEST_CASE("test_column_stats declares call and center with their outputs' shape rules", "[test_column_stats]") {
  auto specializer = sp::make_test_column_stats_specializer();
  CHECK(specializer->name() == "test_column_stats");
  for (DType dtype : {DType::kFloat32, DType::kFloat64}) {
    auto interface = interface_of(*specializer, column_stats_request(matrix(dtype, 5, 3), {{"scale", "0.5"}}));
    REQUIRE(interface.ok());
    REQUIRE(interface->entries.size() == 2);

    const sp::EntryPoint &call = *interface->entry("call").value();
    REQUIRE(call.params.size() == 3);
    CHECK(call.params[0].name == "X");
    CHECK(call.params[0].role == ParamRole::kInput);
    CHECK(call.params[1].name == "col_sums");
    CHECK(call.params[1].role == ParamRole::kOutput);
    CHECK(call.params[2].name == "row_max");
    CHECK(call.params[2].role == ParamRole::kOutput);
    for (const sp::EntryParam &param : call.params) CHECK(param.dtype == dtype);
    const Shapes shapes = {{5, 3}, {}, {}};
    CHECK(sp::output_shape(call, 1, shapes, {}).value() == std::vector<int64_t>{3});
    CHECK(sp::output_shape(call, 2, shapes, {}).value() == std::vector<int64_t>{5});
    CHECK(sp::output_shape(call, 1, {{0, 4}, {}, {}}, {}).value() == std::vector<int64_t>{4});

    const sp::EntryPoint &center = *interface->entry("center").value();
    REQUIRE(center.params.size() == 3);
    CHECK(center.params[0].role == ParamRole::kInput);
    CHECK(center.params[1].name == "col_sums");
    CHECK(center.params[1].role == ParamRole::kInput);
    CHECK(center.params[2].name == "Y");
    CHECK(center.params[2].role == ParamRole::kOutput);
    CHECK(sp::output_shape(center, 2, {{5, 3}, {3}, {}}, {}).value() == std::vector<int64_t>{5, 3});
    CHECK(call.symbol != center.symbol);
  }
}

TEST_CASE("test_column_stats lowers both entries for cpu-openmp and refuses other platforms clearly", "[test_column_stats]") {
  auto specializer = sp::make_test_column_stats_specializer();
  sp::SpecializationRequest request = column_stats_request(matrix(DType::kFloat32, 4, 4), {{"scale", "2"}});
  auto ir = specializer->front_end(request);
  REQUIRE(ir.ok());
  auto plan = specializer->plan_variant(**ir, request, sp::Platform::kCpuOpenMp);
  REQUIRE(plan.ok());
  std::vector<std::string> notes;
  auto unit = specializer->lower(**ir, **plan, notes);
  REQUIRE(unit.ok());
  const std::string source = sejits::codegen::print_cpp(*unit);
  const sp::KernelInterface interface = specializer->kernel_interface(**ir, request);
  for (const sp::EntryPoint &entry : interface.entries) CHECK(source.find(entry.symbol) != std::string::npos);
  CHECK(source.find("strides") != std::string::npos);  // strided X: the descriptors' strides are read

  request.platform = "opencl";
  auto opencl = specializer->plan_variant(**ir, request, sp::Platform::kOpenCl);
  REQUIRE_FALSE(opencl.ok());
  CHECK(opencl.status().code() == absl::StatusCode::kUnimplemented);
  CHECK(message_of(opencl.status()).find("cpu-openmp") != std::string::npos);
  auto numpy = specializer->lower_numpy(**ir, request, notes);
  REQUIRE_FALSE(numpy.ok());
  CHECK(numpy.status().code() == absl::StatusCode::kFailedPrecondition);
}

TEST_CASE("test_column_stats refuses requests it cannot serve, naming the problem", "[test_column_stats]") {
  auto specializer = sp::make_test_column_stats_specializer();
  auto refused = [&](const sp::SpecializationRequest &request, const std::string &needle) {
    auto ir = specializer->front_end(request);
    REQUIRE_FALSE(ir.ok());
    CHECK(ir.status().code() == absl::StatusCode::kInvalidArgument);
    INFO(message_of(ir.status()));
    CHECK(message_of(ir.status()).find(needle) != std::string::npos);
  };
  refused(column_stats_request(array_of(DType::kFloat64, 1)), "2-D, not of rank 1");
  refused(column_stats_request(array_of(DType::kFloat64, 3)), "2-D, not of rank 3");
  refused(column_stats_request(array_of(DType::kInt32, 2)), "float32 or float64, not int32");
  refused(column_stats_request(array_with_code(99)), "2-D");  // rank first
  sp::ArgSpec odd_dtype = array_of(DType::kFloat64, 2);
  odd_dtype.dtype_code = 99;
  refused(column_stats_request(odd_dtype), "not code 99");
  refused(column_stats_request(python_float()), "must be an array");
  refused(column_stats_request(matrix(DType::kFloat64, 2, 2), {{"scale", "lots"}}), "'scale' must be a finite number, not 'lots'");
  refused(column_stats_request(matrix(DType::kFloat64, 2, 2), {{"scale", "inf"}}), "'scale'");
  refused(column_stats_request(matrix(DType::kFloat64, 2, 2), {{"scael", "2"}}), "unknown param 'scael'");
  sp::SpecializationRequest two = column_stats_request(matrix(DType::kFloat64, 2, 2));
  two.args.push_back(matrix(DType::kFloat64, 2, 2));
  refused(two, "one argument, X");
  refused(sp::SpecializationRequest{.specializer = "test_column_stats"}, "the request has 0");
  sp::SpecializationRequest with_function = column_stats_request(matrix(DType::kFloat64, 2, 2));
  with_function.function = std::make_shared<const v1::FunctionAst>(lambda({"x"}, name("x")));
  refused(with_function, "takes params, not a function's AST");

  // A role the artifact lacks: NOT_FOUND naming the roles it has.
  auto interface = interface_of(*specializer, column_stats_request(matrix(DType::kFloat64, 2, 2)));
  REQUIRE(interface.ok());
  auto missing = interface->entry("iterate");
  REQUIRE_FALSE(missing.ok());
  CHECK(missing.status().code() == absl::StatusCode::kNotFound);
  CHECK(message_of(missing.status()).find("call, center") != std::string::npos);
}

TEST_CASE("decorated-function specializers refuse a request without a function", "[test_column_stats]") {
  for (const char *name : {"elementwise", "stencil"}) {
    sp::SpecializationRequest request;
    request.specializer = name;
    request.args = {array_of(DType::kFloat64, 2)};
    auto generated = sp::run_pipeline(request);
    REQUIRE_FALSE(generated.ok());
    CHECK(generated.status().code() == absl::StatusCode::kInvalidArgument);
    CHECK(message_of(generated.status()).find("AST") != std::string::npos);
  }
  // Production registries do not know the test specializer (this binary never enables it).
  auto unknown = sp::run_pipeline(column_stats_request(matrix(DType::kFloat64, 2, 2)));
  REQUIRE_FALSE(unknown.ok());
  CHECK(message_of(unknown.status()).find("unknown specializer 'test_column_stats'") != std::string::npos);
}

TEST_CASE("a library request converts from the protocol without a function and keys on its params", "[test_column_stats]") {
  v1::SpecializeRequest wire;
  wire.set_specializer("test_column_stats");
  v1::ArgDescriptor *x = wire.add_args();
  x->set_kind(v1::ARRAY);
  x->set_dtype(v1::FLOAT32);
  x->set_rank(2);
  x->add_shape(7);
  x->add_shape(5);
  (*wire.mutable_params())["scale"] = "0.5";
  auto request = sejits::server::rpc::from_proto(v1::SpecializeRequest(wire), sejits::server::RequestLimits{});
  REQUIRE(request.ok());
  CHECK(request->function == nullptr);
  CHECK_FALSE(sejits::server::rpc::to_proto(*request).has_function());

  auto specializer = sp::make_test_column_stats_specializer();
  const sejits::server::KeyContext context{specializer->version(), "g++|test", "runtime", "native", specializer.get()};
  const std::string key = sejits::server::request_key(*request, context);
  CHECK(key == sejits::server::request_key(*request, context));
  sp::SpecializationRequest other_scale = *request;
  other_scale.params["scale"] = "2";
  CHECK(key != sejits::server::request_key(other_scale, context));
  sp::SpecializationRequest other_dtype = *request;
  other_dtype.args[0].dtype_code = static_cast<int>(DType::kFloat64);
  CHECK(key != sejits::server::request_key(other_dtype, context));
  sp::SpecializationRequest other_shape = *request;
  other_shape.args[0].shape = {100, 3};
  CHECK(key == sejits::server::request_key(other_shape, context));  // the code takes any extents
  // An (empty) function is not the same request as none.
  sp::SpecializationRequest empty_function = *request;
  empty_function.function = std::make_shared<const v1::FunctionAst>();
  CHECK(key != sejits::server::request_key(empty_function, context));
  const sejits::server::KeyContext next_version{specializer->version() + "+1", "g++|test", "runtime", "native", specializer.get()};
  CHECK(key != sejits::server::request_key(*request, next_version));
}

TEST_CASE("the C++ client's shape rules agree with the daemon's", "[test_column_stats]") {
  auto specializer = sp::make_test_column_stats_specializer();
  auto interface = interface_of(*specializer, column_stats_request(matrix(DType::kFloat64, 5, 3)));
  REQUIRE(interface.ok());
  v1::KernelInterface wire;
  sejits::server::rpc::to_proto(*interface, wire);
  for (const Shapes &inputs : {Shapes{{5, 3}}, Shapes{{1, 1}}, Shapes{{0, 4}}, Shapes{{7, 0}}}) {
    const sp::EntryPoint &call = *interface->entry("call").value();
    auto shapes = sejits::client::call_shapes(wire.entries(0), inputs);
    REQUIRE(shapes.ok());
    const Shapes daemon_shapes = {inputs[0], {}, {}};
    CHECK((*shapes)[0] == inputs[0]);
    CHECK((*shapes)[1] == sp::output_shape(call, 1, daemon_shapes, {}).value());
    CHECK((*shapes)[2] == sp::output_shape(call, 2, daemon_shapes, {}).value());
    const sp::EntryPoint &center = *interface->entry("center").value();
    auto centered = sejits::client::call_shapes(wire.entries(1), {inputs[0], {inputs[0][1]}});
    REQUIRE(centered.ok());
    CHECK((*centered)[2] == sp::output_shape(center, 2, {inputs[0], {inputs[0][1]}, {}}, {}).value());
  }
  // Too few or too many inputs, and a rule the client cannot evaluate, are errors that say so.
  CHECK_FALSE(sejits::client::call_shapes(wire.entries(0), {}).ok());
  CHECK_FALSE(sejits::client::call_shapes(wire.entries(0), {{5, 3}, {3}}).ok());
  v1::EntryPoint computed = wire.entries(0);
  computed.mutable_params(1)->mutable_shape()->clear_dims();
  computed.mutable_params(1)->mutable_shape()->set_shape_entry("shape");
  auto needs_entry = sejits::client::call_shapes(computed, {{5, 3}});
  REQUIRE_FALSE(needs_entry.ok());
  CHECK(message_of(needs_entry.status()).find("call it first") != std::string::npos);
}
