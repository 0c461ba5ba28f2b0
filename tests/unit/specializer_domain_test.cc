// What the daemon's core asks of a domain, answered by the element-wise and
// stencil specializers: the arguments' part of the key, the tuning shape
// class (computed from the request, whatever the client sent), each
// variant's request params, offline timing and its synthetic inputs.
#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include "server/core/specializer_core.h"
#include "specializers/elementwise/plan.h"
#include "specializers/registry.h"
#include "specializers/stencil/plan.h"
#include "tests/unit/ast_builders.h"
#include "tests/unit/core_fixture.h"
#include "tests/unit/temp_dir.h"

namespace sejits::specializers {
namespace {

using namespace sejits::testing;

ArgSpec array_shaped(std::vector<int64_t> shape, bool c_contiguous = true) {
  ArgSpec arg = array_of(DType::kFloat64, static_cast<int32_t>(shape.size()));
  arg.shape = std::move(shape);
  arg.c_contiguous = c_contiguous;
  return arg;
}

SpecializationRequest request_of(const std::string &specializer, std::vector<ArgSpec> args) {
  SpecializationRequest request;
  request.specializer = specializer;
  request.args = std::move(args);
  return request;
}

const Specializer &named(const std::string &name) {
  const Specializer *specializer = find_specializer(name);
  REQUIRE(specializer != nullptr);
  return *specializer;
}

// The variant `params` select: every parameter at its default unless a param names it.
tuner::Variant variant_of(const tuner::TuningSpace &space, const std::map<std::string, std::string> &params) {
  tuner::Variant variant;
  for (const tuner::TuningParameter &parameter : space.parameters) {
    auto given = params.find(variant_param(parameter.name));
    variant[parameter.name] = given == params.end() ? parameter.default_value : given->second;
  }
  return variant;
}

}  // namespace

TEST_CASE("the shape class is the entry role, the largest array's extents as bit lengths, and the layout",
          "[specializer_domain]") {
  for (const std::string name : {"elementwise", "stencil"}) {
    const Specializer &specializer = named(name);
    CHECK(specializer.shape_class(request_of(name, {python_float(), array_shaped({1000}), array_shaped({1000})}), "call") ==
          "call:10:c");
    CHECK(specializer.shape_class(request_of(name, {array_shaped({100, 60})}), "iterate") == "iterate:7x6:c");
    // The largest array names the buckets; any strided array makes the layout "s".
    CHECK(specializer.shape_class(request_of(name, {array_shaped({1500}), array_shaped({4, 1500}, false)}), "call") ==
          "call:3x11:s");
    CHECK(specializer.shape_class(request_of(name, {array_shaped({8}), array_shaped({2, 4})}), "call") == "call:4:c");
    CHECK(specializer.shape_class(request_of(name, {array_shaped({})}), "call") == "call:0:c");
    CHECK(specializer.shape_class(request_of(name, {array_shaped({0, 5})}), "call") == "call:0x3:c");
    CHECK(specializer.shape_class(request_of(name, {python_float()}), "call") == "call:scalar:c");
  }
}

TEST_CASE("every variant's request params select exactly that variant and the domain's plan accepts them",
          "[specializer_domain]") {
  struct Case {
    std::string specializer, entry;
    std::vector<ArgSpec> args;
  };
  const std::vector<Case> cases = {
      {"elementwise", "call", {python_float(), array_shaped({1000}), array_shaped({1000})}},
      {"elementwise", "call", {array_shaped({4096, 4096})}},
      {"stencil", "call", {array_shaped({512, 512}), python_float()}},
      {"stencil", "call", {array_shaped({64, 64, 64})}},
      {"stencil", "iterate", {array_shaped({512, 512}), python_float()}},
  };
  for (const Case &test : cases) {
    const Specializer &specializer = named(test.specializer);
    const SpecializationRequest request = request_of(test.specializer, test.args);
    const tuner::TuningSpace space = specializer.tuning_space(request, specializer.shape_class(request, test.entry));
    REQUIRE(space.size() > 1);
    for (const tuner::Variant &variant : space.all_variants()) {
      const std::map<std::string, std::string> params = specializer.variant_request_params(space, variant);
      CHECK(variant_of(space, params) == variant);
      for (const auto &[name, value] : params) {
        const std::string field = name.substr(sizeof(kVariantPrefix) - 1);
        for (const tuner::TuningParameter &parameter : space.parameters) {
          if (parameter.name == field) CHECK(value != parameter.default_value);  // defaults are left out
        }
      }
      const absl::Status parsed = test.specializer == "elementwise" ? elementwise::parse_plan(params).status()
                                                                     : stencil::parse_plan(params).status();
      CHECK(parsed.ok());
    }
    CHECK(specializer.variant_request_params(space, space.default_variant()).empty());
  }
}

TEST_CASE("stencil keys hold each array's rank on every platform, element-wise keys on OpenCL only",
          "[specializer_domain]") {
  SpecializationRequest rank_1 = request_of("stencil", {array_shaped({8})});
  SpecializationRequest rank_2 = request_of("stencil", {array_shaped({8, 8})});
  CHECK(named("stencil").argument_key(rank_1) != named("stencil").argument_key(rank_2));
  rank_1.specializer = rank_2.specializer = "elementwise";
  CHECK(named("elementwise").argument_key(rank_1) == named("elementwise").argument_key(rank_2));
  rank_1.platform = rank_2.platform = kOpenClPlatform;
  CHECK(named("elementwise").argument_key(rank_1) != named("elementwise").argument_key(rank_2));
}

TEST_CASE("single calls are timed offline on synthetic arrays, the output broadcast; iterate is not",
          "[specializer_domain]") {
  for (const std::string name : {"elementwise", "stencil"}) {
    const Specializer &specializer = named(name);
    CHECK(specializer.times_offline("call"));
    CHECK_FALSE(specializer.times_offline("iterate"));
    ArgSpec int_scalar = python_int();
    int_scalar.weak = false;
    auto call = specializer.synthetic_call(request_of(name, {array_shaped({3, 1}), int_scalar, array_shaped({5})}),
                                           DType::kFloat32);
    REQUIRE(call.ok());
    REQUIRE(call->size() == 4);
    CHECK((*call)[0].shape == std::vector<int64_t>{3, 1});
    CHECK((*call)[1].kind == ArgKind::kScalar);
    CHECK((*call)[1].dtype == DType::kInt64);
    CHECK((*call)[3].shape == std::vector<int64_t>{3, 5});
    CHECK((*call)[3].dtype == DType::kFloat32);
  }
}

TEST_CASE("the core keeps tuning records under the specializer's shape class, whatever the client sent",
          "[specializer_domain]") {
  TempDir dir;
  auto core = create_core(dir.path());
  auto request = elementwise_request(lambda({"a", "b"}, add(name("a"), name("b"))),
                                     {array_shaped({1000}), array_shaped({1000})});
  for (const server::TuningAsk &ask : {server::TuningAsk{server::TuningMode::kOnline, "", "add", "call"},
                                       server::TuningAsk{server::TuningMode::kOnline, "call:99x99:s", "add", ""},
                                       server::TuningAsk{server::TuningMode::kOnline, "call", "add", ""}}) {
    auto served = core->specialize(request, {false, ask});
    REQUIRE(served.ok());
    CHECK(served->tuning.shape_class == "call:10:c");
    REQUIRE(served->tuning.record);
    CHECK(served->tuning.record->key.shape_class == "call:10:c");
    for (const std::string &label : served->tuning.candidates) CHECK(served->tuning.candidate_params.count(label) == 1);
  }
  auto no_role = core->report_timings(request, {server::TuningMode::kOnline, "", "add", ""}, {}, false);
  CHECK(no_role.status().code() == absl::StatusCode::kInvalidArgument);
}

}  // namespace sejits::specializers
