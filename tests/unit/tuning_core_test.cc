// Tuning through SpecializerCore, without a network: plans, reported
// timings (injected) leading to a choice, the choice served after a restart,
// concurrent reports, and a tuning database that cannot be opened.
#include <fstream>
#include <latch>
#include <string>
#include <thread>
#include <vector>

#include <catch2/catch.hpp>

#include "server/core/specializer_core.h"
#include "tests/unit/ast_builders.h"
#include "tests/unit/core_fixture.h"
#include "tests/unit/temp_dir.h"

namespace sejits::server {
namespace {

using namespace sejits::testing;

specializers::SpecializationRequest add_arrays() {
  auto request = elementwise_request(lambda({"a", "b"}, add(name("a"), name("b"))),
                                     {array_of(specializers::DType::kFloat64), array_of(specializers::DType::kFloat64)});
  for (auto &arg : request.args) {
    arg.shape = {1000};
    arg.strides = {8};
  }
  return request;
}

const TuningAsk kOnline{TuningMode::kOnline, "call:10:c", "add"};

// Injected timings: every variant takes 1 ms except those with unroll=4.
std::vector<VariantTiming> timings_for(const std::vector<std::string> &labels) {
  std::vector<VariantTiming> timings;
  for (const std::string &label : labels) {
    const double seconds = label.find("unroll=4") != std::string::npos ? 0.5e-3 : 1e-3;
    timings.push_back({label, {seconds, seconds, seconds}, ""});
  }
  return timings;
}

}  // namespace

TEST_CASE("reported timings lead to a choice that a restarted core serves", "[tuning_core]") {
  TempDir dir;
  const auto request = add_arrays();
  std::string default_key;
  {
    auto core = create_core(dir.path());
    auto first = core->specialize(request, {false, kOnline});
    REQUIRE(first.ok());
    default_key = first->key;
    TuningPlan plan = first->tuning;
    CHECK(plan.state == PlanState::kTrying);
    CHECK(plan.variant_params.empty());  // the default variant: the plain request's artifact
    REQUIRE_FALSE(plan.candidates.empty());
    int rounds = 0;
    while (plan.state == PlanState::kTrying && rounds++ < 20) {
      auto next = core->report_timings(request, kOnline, timings_for(plan.candidates), false);
      REQUIRE(next.ok());
      plan = *next;
    }
    REQUIRE(plan.state == PlanState::kChosen);
    CHECK(plan.label.find("unroll=4") != std::string::npos);
    CHECK(plan.variant_params.at("variant.unroll") == "4");
    REQUIRE(plan.record);
    REQUIRE(plan.record->choice);
    CHECK(plan.record->choice->reason == "search complete");
  }
  auto restarted = create_core(dir.path());
  auto served = restarted->specialize(request, {false, kOnline});
  REQUIRE(served.ok());
  CHECK(served->tuning.state == PlanState::kChosen);
  CHECK(served->tuning.candidates.empty());
  CHECK(served->key != default_key);  // the chosen variant's own artifact
  CHECK(served->tuning.label.find("unroll=4") != std::string::npos);

  SECTION("tuning off serves the default variant") {
    auto off = restarted->specialize(request, {});
    REQUIRE(off.ok());
    CHECK(off->key == default_key);
    CHECK(off->tuning.state == PlanState::kUntuned);
  }
}

TEST_CASE("timings on an OpenCL device are recorded for that device, apart from the CPU's", "[tuning_core]") {
  TempDir dir;
  auto core = create_core(dir.path());
  const auto request = add_arrays();
  TuningAsk on_gpu = kOnline;
  on_gpu.device = "NVIDIA H200 | 580.159";
  auto first = core->specialize(request, {false, on_gpu});
  REQUIRE(first.ok());
  std::vector<VariantTiming> timings = timings_for(first->tuning.candidates);
  auto plan = core->report_timings(request, on_gpu, timings, true);
  REQUIRE(plan.ok());
  REQUIRE(plan->record);
  CHECK(plan->record->platform_description.ends_with("; device=NVIDIA H200 | 580.159"));
  CHECK(plan->record->key.platform != core->tuning().platform().fingerprint);
  CHECK(plan->state == PlanState::kChosen);
  auto on_cpu = core->specialize(request, {false, kOnline});  // the device's choice is not the CPU's
  REQUIRE(on_cpu.ok());
  CHECK(on_cpu->tuning.state == PlanState::kTrying);
}

TEST_CASE("a spent budget chooses the fastest variant timed so far", "[tuning_core]") {
  TempDir dir;
  auto core = create_core(dir.path());
  const auto request = add_arrays();
  auto first = core->specialize(request, {false, kOnline});
  REQUIRE(first.ok());
  std::vector<VariantTiming> timings = timings_for(first->tuning.candidates);
  timings.back().samples = {0.1e-3, 0.1e-3, 0.1e-3};
  auto plan = core->report_timings(request, kOnline, timings, true);
  REQUIRE(plan.ok());
  CHECK(plan->state == PlanState::kChosen);
  CHECK(plan->label == timings.back().label);
  CHECK(plan->reason.find("budget") != std::string::npos);
}

TEST_CASE("a budget spent before any variant was timed twice chooses nothing for everyone", "[tuning_core]") {
  TempDir dir;
  auto core = create_core(dir.path());
  const auto request = add_arrays();
  auto first = core->specialize(request, {false, kOnline});
  REQUIRE(first.ok());
  auto plan = core->report_timings(request, kOnline, {{first->tuning.label, {1e-3}, ""}}, true);
  REQUIRE(plan.ok());
  CHECK(plan->state == PlanState::kUntuned);
  CHECK(plan->reason.find("before any variant was timed twice") != std::string::npos);
  auto again = core->specialize(request, {false, kOnline});
  REQUIRE(again.ok());
  CHECK(again->tuning.state == PlanState::kTrying);  // nothing was remembered
}

TEST_CASE("concurrent reports from many RPCs all land", "[tuning_core]") {
  TempDir dir;
  auto core = create_core(dir.path());
  const auto request = add_arrays();
  auto first = core->specialize(request, {false, kOnline});
  REQUIRE(first.ok());
  const std::string label = first->tuning.label;
  constexpr int kThreads = 12, kReports = 10;
  std::latch start(kThreads);
  std::vector<std::thread> threads;
  std::atomic<int> failures{0};
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&] {
      start.arrive_and_wait();
      for (int k = 0; k < kReports; ++k) {
        if (!core->report_timings(request, kOnline, {{label, {1e-3}, ""}}, false).ok()) ++failures;
      }
    });
  }
  for (auto &thread : threads) thread.join();
  CHECK(failures == 0);
  auto records = core->tuning().database()->list();
  REQUIRE(records.ok());
  REQUIRE(records->size() == 1);
  const tuner::VariantStats *stats = records->front().find(label);
  REQUIRE(stats != nullptr);
  CHECK(stats->samples.size() == std::min<size_t>(kThreads * kReports, tuner::kMaxSamplesPerVariant));
}

TEST_CASE("timings for a label outside the space are refused", "[tuning_core]") {
  TempDir dir;
  auto core = create_core(dir.path());
  auto plan = core->report_timings(add_arrays(), kOnline, {{"unroll=99", {1e-3}, ""}}, false);
  REQUIRE_FALSE(plan.ok());
  CHECK(plan.status().code() == absl::StatusCode::kInvalidArgument);
  CHECK(std::string(plan.status().message()).find("not a variant of this kernel") != std::string::npos);
}

TEST_CASE("a corrupted tuning database is moved aside and tuning goes on with an empty one", "[tuning_core]") {
  TempDir dir;
  std::filesystem::create_directories(dir.path());
  const std::string garbage(8192, 'x');
  std::ofstream(dir.path() / "tuning.db") << garbage;
  auto core = create_core(dir.path());
  CHECK(core->tuning().available());
  std::vector<std::filesystem::path> quarantined;
  for (const auto &entry : std::filesystem::directory_iterator(dir.path())) {
    if (entry.path().filename().string().starts_with("tuning.db.corrupt-")) quarantined.push_back(entry.path());
  }
  REQUIRE(quarantined.size() == 1);
  CHECK(std::filesystem::file_size(quarantined[0]) == garbage.size());
  auto result = core->specialize(add_arrays(), {false, kOnline});
  REQUIRE(result.ok());
  CHECK(result->tuning.state != PlanState::kUntuned);
}

TEST_CASE("a tuning database that cannot be opened leaves the daemon compiling without tuning", "[tuning_core]") {
  TempDir dir;
  std::filesystem::create_directories(dir.path() / "tuning.db");  // a directory: SQLite cannot open it
  auto core = create_core(dir.path());
  CHECK_FALSE(core->tuning().available());
  CHECK(core->tuning().unavailable_reason().find("tuning.db") != std::string::npos);
  CHECK(std::filesystem::is_directory(dir.path() / "tuning.db"));  // not moved: it is not a corrupt database
  auto result = core->specialize(add_arrays(), {false, kOnline});
  REQUIRE(result.ok());
  CHECK(result->outcome == CacheOutcome::kCompiled);
  CHECK(result->tuning.state == PlanState::kUntuned);
  CHECK(result->tuning.reason.find("tuning database unavailable") != std::string::npos);
  auto report = core->report_timings(add_arrays(), kOnline, {}, false);
  REQUIRE(report.ok());
  CHECK(report->state == PlanState::kUntuned);
}

}  // namespace sejits::server
