// pipeline.cc tells the whole story at debug level: every phase that changed
// the kernel logs it, the variant plan and the lowered code included.
#include <memory>
#include <sstream>
#include <string>

#include <catch2/catch.hpp>

#include "spdlog/sinks/ostream_sink.h"
#include "spdlog/spdlog.h"
#include "specializers/pipeline.h"
#include "specializers/platforms.h"
#include "tests/unit/ast_builders.h"

namespace sejits::specializers {
namespace {

using namespace sejits::testing;

// The debug log of one run of the pipeline.
std::string pipeline_log(const SpecializationRequest &request) {
  std::ostringstream text;
  auto previous = spdlog::default_logger();
  auto logger = std::make_shared<spdlog::logger>("pipeline-test", std::make_shared<spdlog::sinks::ostream_sink_mt>(text));
  logger->set_level(spdlog::level::debug);
  logger->set_pattern("%v");
  spdlog::set_default_logger(logger);
  auto kernel = run_pipeline(request);
  spdlog::set_default_logger(previous);
  REQUIRE(kernel.ok());
  return text.str();
}

}  // namespace

TEST_CASE("the pipeline logs each phase's result at debug level, in order", "[pipeline_log]") {
  auto request = elementwise_request(lambda({"a", "b"}, add(name("a"), mul(name("b"), number(2)))),
                                     {array_of(DType::kFloat64), array_of(DType::kFloat64)});
  request.params["variant.unroll"] = "4";
  const std::string log = pipeline_log(request);
  const size_t front_end = log.find("pipeline: front end: ");
  const size_t plan = log.find("pipeline: variant plan: cpu-openmp: threads all, parallel_threshold");
  const size_t lowered = log.find("pipeline: lowered:\n");
  REQUIRE(front_end != std::string::npos);
  REQUIRE(plan != std::string::npos);
  REQUIRE(lowered != std::string::npos);
  CHECK(front_end < plan);
  CHECK(plan < lowered);
  CHECK(log.find("unroll 4", plan) < lowered);           // the plan is the request's variant
  CHECK(log.find("sejits_elementwise", lowered) != std::string::npos);  // the lowered unit, printed

  request.platform = kNumpyPlatform;
  CHECK(pipeline_log(request).find("pipeline: printed as NumPy:\n") != std::string::npos);
}

TEST_CASE("an unknown platform is refused before the front end runs", "[pipeline_log]") {
  auto request = elementwise_request(lambda({"a"}, name("a")), {array_of(DType::kFloat64)});
  request.platform = "fpga";
  auto kernel = run_pipeline(request);
  REQUIRE_FALSE(kernel.ok());
  CHECK(kernel.status().code() == absl::StatusCode::kInvalidArgument);
  CHECK(std::string(kernel.status().message()).find("unknown target platform 'fpga'") != std::string::npos);
}

}  // namespace sejits::specializers
