// The element-wise front end (build_elementwise_ir) and the pipeline around
// it: which kernels are accepted with which result dtype (NumPy 2's), and
// that every rejection names the construct and the user's line.
#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include "specializers/elementwise/frontend.h"
#include "specializers/pipeline.h"
#include "tests/unit/ast_builders.h"

namespace sejits::specializers {
namespace {

using namespace sejits::testing;

struct AcceptCase {
  std::string what;
  v1::FunctionAst function;
  std::vector<ArgSpec> args;
  DType result;
  ScalarOp root;  // the operation that computes the returned value
};

std::vector<AcceptCase> accept_cases() {
  const auto a = [] { return name("a"); };
  const auto b = [] { return name("b"); };
  return {
      {"float32 array * python float stays float32", lambda({"a", "b"}, mul(a(), b())),
       {array_of(DType::kFloat32), python_float()}, DType::kFloat32, ScalarOp::kMul},
      {"int8 array + python float is float64", lambda({"a"}, add(a(), number(1.5))),
       {array_of(DType::kInt8)}, DType::kFloat64, ScalarOp::kAdd},
      {"int16 array / int16 array is float64", lambda({"a", "b"}, true_div(a(), b())),
       {array_of(DType::kInt16), array_of(DType::kInt16)}, DType::kFloat64, ScalarOp::kTrueDiv},
      {"int8 array + python int stays int8", lambda({"a"}, add(a(), integer(100))),
       {array_of(DType::kInt8)}, DType::kInt8, ScalarOp::kAdd},
      {"a comparison is bool", lambda({"a", "b"}, less(a(), b())),
       {array_of(DType::kInt32), array_of(DType::kFloat64)}, DType::kBool, ScalarOp::kLt},
      {"if/else statements, each branch returning",
       def({"a", "b"}, {if_stmt(2, greater(a(), b()), {return_value(3, sub(a(), b()))},
                                {return_value(5, sub(b(), a()))})}),
       {array_of(DType::kInt32), array_of(DType::kInt64)}, DType::kInt64, ScalarOp::kSelect},
      {"an if without else, the return after it",
       def({"a"}, {assign(2, "t", mul(a(), integer(2))),
                   if_stmt(3, greater(name("t"), integer(10)), {assign(4, "t", integer(10))}),
                   return_value(5, name("t"))}),
       {array_of(DType::kInt32)}, DType::kInt32, ScalarOp::kSelect},
      {"a conditional expression", lambda({"a"}, if_exp(greater(a(), number(0)), a(), number(0.0))),
       {array_of(DType::kFloat32)}, DType::kFloat32, ScalarOp::kSelect},
      {"numpy.where", lambda({"a", "b"}, call(global_ref("numpy.where"), {greater(a(), number(0)), a(), b()})),
       {array_of(DType::kFloat32), array_of(DType::kFloat64)}, DType::kFloat64, ScalarOp::kSelect},
      {"np.sin through the module attribute, on int16, is float32",
       lambda({"a"}, call(attribute(global_ref("numpy"), "sin"), {a()})),
       {array_of(DType::kInt16)}, DType::kFloat32, ScalarOp::kMath},
      {"np.sin of a Python float is a (strong) float64", lambda({"x"}, call(global_ref("numpy.sin"), {name("x")})),
       {python_float()}, DType::kFloat64, ScalarOp::kMath},
      {"builtin max over three operands", lambda({"a", "b"}, call(global_ref("builtins.max"), {a(), b(), integer(0)})),
       {array_of(DType::kInt8), array_of(DType::kInt16)}, DType::kInt16, ScalarOp::kSelect},  // Python's max: b > a ? b : a
      {"builtin min with a Python float", lambda({"a"}, call(global_ref("builtins.min"), {a(), number(1.0)})),
       {array_of(DType::kInt32)}, DType::kFloat64, ScalarOp::kSelect},
      {"np.maximum propagates NaN", lambda({"a", "b"}, call(global_ref("numpy.maximum"), {a(), b()})),
       {array_of(DType::kFloat32), array_of(DType::kFloat32)}, DType::kFloat32, ScalarOp::kMaximum},
  };
}

struct RejectCase {
  std::string what;
  v1::FunctionAst function;
  std::vector<ArgSpec> args;
  std::string location;  // "kernel.py:<line>:"
  std::string names;     // a fragment of the message that names the construct
};

std::vector<RejectCase> reject_cases() {
  const auto a = [] { return name("a"); };
  const std::vector<ArgSpec> one_float64 = {array_of(DType::kFloat64)};
  return {
      {"a subscript",
       def({"a"}, {assign(2, "t", mul(a(), number(2))), return_value(3, subscript(name("t"), integer(0)))}),
       one_float64, "kernel.py:3:", "indexing (a[...])"},
      {"a for loop over an array",
       def({"a"}, {assign(2, "t", a()), for_stmt(3, "i", a(), {pass_stmt(4)}), return_value(5, name("t"))}),
       one_float64, "kernel.py:3:", "only 'for name in range(...)' loops are supported"},
      {"an unknown numpy function",
       def({"a"}, {assign(2, "t", a()), assign(3, "u", name("t")),
                   return_value(4, call(global_ref("numpy.fft"), {name("u")}))}),
       one_float64, "kernel.py:4:", "'numpy.fft'"},
      {"an expression the client could not encode",
       def({"a"}, {return_value(2, unsupported_expr("a list comprehension"))}),
       one_float64, "kernel.py:2:", "a list comprehension is not supported"},
      {"a statement the client could not encode",
       def({"a"}, {assign(2, "t", a()), unsupported_stmt(3, "a while loop"), return_value(4, name("t"))}),
       one_float64, "kernel.py:3:", "a while loop is not supported"},
      {"a bare return",
       def({"a"}, {assign(2, "t", a()), bare_return(3)}),
       one_float64, "kernel.py:3:", "must return a value"},
      {"a path without return (the if's implicit else)",
       def({"a"}, {assign(2, "t", a()), if_stmt(3, greater(name("t"), number(0)), {return_value(4, name("t"))})}),
       one_float64, "kernel.py:3:", "without returning a value"},
      {"a string constant",
       def({"a"}, {assign(2, "t", a()), return_value(3, text("hello"))}),
       one_float64, "kernel.py:3:", "string constants"},
      {"a name that is not defined",
       def({"a"}, {return_value(2, add(a(), name("zz")))}),
       one_float64, "kernel.py:2:", "'zz' is not defined"},
      {"np.sin of int8 (float16 in NumPy)",
       def({"a"}, {assign(2, "t", a()), return_value(3, call(global_ref("numpy.sin"), {name("t")}))}),
       {array_of(DType::kInt8)}, "kernel.py:3:", "float16"},
      {"a Python int out of bounds for the array's dtype",
       def({"a"}, {return_value(2, add(a(), integer(1000)))}),
       {array_of(DType::kInt8)}, "kernel.py:2:", "Python integer 1000 out of bounds for int8"},
      {"fewer argument descriptions than parameters",
       lambda({"a", "b"}, add(a(), name("b"))),
       one_float64, "kernel.py:1:", "takes 2 arguments, called with 1"},
      {"an argument of an unsupported dtype (complex64)",
       lambda({"a"}, a()),
       {array_with_code(13)}, "kernel.py:1:", "argument 'a' has a dtype sejits does not support (COMPLEX64)"},
  };
}

}  // namespace

TEST_CASE("accepted kernels get NumPy 2's result dtype", "[frontend]") {
  const AcceptCase kernel = GENERATE(from_range(accept_cases()));
  INFO(kernel.what);
  const SpecializationRequest request = elementwise_request(kernel.function, kernel.args);

  auto ir = elementwise::build_elementwise_ir(request);
  REQUIRE(ir.ok());
  INFO((*ir)->describe());
  REQUIRE((*ir)->outputs.size() == 1);
  CHECK((*ir)->outputs[0].type == ScalarType{kernel.result, false});
  CHECK((*ir)->outputs[0].value->type == (*ir)->outputs[0].type);
  CHECK((*ir)->outputs[0].value->op == kernel.root);
  CHECK((*ir)->parameters.size() == kernel.args.size());

  auto generated = run_pipeline(request);
  REQUIRE(generated.ok());
  CHECK(generated->interface.result_dtype() == kernel.result);
  CHECK_FALSE(generated->source.empty());
}

TEST_CASE("rejected kernels name the construct and the line", "[frontend]") {
  const RejectCase kernel = GENERATE(from_range(reject_cases()));
  INFO(kernel.what);
  const SpecializationRequest request = elementwise_request(kernel.function, kernel.args);

  auto ir = elementwise::build_elementwise_ir(request);
  REQUIRE_FALSE(ir.ok());
  const std::string message(ir.status().message());
  INFO(message);
  CHECK(ir.status().code() == absl::StatusCode::kInvalidArgument);
  CHECK(message.rfind(kernel.location, 0) == 0);
  CHECK(message.find(kernel.names) != std::string::npos);

  // The pipeline passes the front end's answer through unchanged.
  auto generated = run_pipeline(request);
  REQUIRE_FALSE(generated.ok());
  CHECK(generated.status() == ir.status());
}

TEST_CASE("the pipeline rejects an unknown specializer or platform", "[frontend]") {
  SpecializationRequest request = elementwise_request(lambda({"a"}, name("a")), {array_of(DType::kFloat64)});
  SECTION("specializer") {
    request.specializer = "no-such-specializer";
    auto generated = run_pipeline(request);
    REQUIRE_FALSE(generated.ok());
    CHECK(generated.status().code() == absl::StatusCode::kInvalidArgument);
    CHECK_THAT(std::string(generated.status().message()), Catch::Contains("known: elementwise"));
  }
  SECTION("platform") {
    request.platform = "fpga";
    auto generated = run_pipeline(request);
    REQUIRE_FALSE(generated.ok());
    CHECK(generated.status().code() == absl::StatusCode::kInvalidArgument);
    CHECK_THAT(std::string(generated.status().message()), Catch::Contains("unknown target platform 'fpga'"));
  }
}

}  // namespace sejits::specializers
