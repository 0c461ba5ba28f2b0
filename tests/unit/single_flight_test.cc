// Single-flight: identical concurrent calls run their work once. Then the
// same property end to end in SpecializerCore, with the real compiler, and
// a restarted core serving the compiled artifact from the store.
#include <algorithm>
#include <atomic>
#include <chrono>
#include <latch>
#include <string>
#include <thread>
#include <vector>

#include <catch2/catch.hpp>

#include "server/core/single_flight.h"
#include "server/core/specializer_core.h"
#include "tests/unit/ast_builders.h"
#include "tests/unit/core_fixture.h"
#include "tests/unit/temp_dir.h"

namespace sejits::server {
namespace {

using namespace std::chrono_literals;
using namespace sejits::testing;

// Runs `body(k)` on `n` threads that start together.
template <typename Body>
void run_concurrently(int n, Body body) {
  std::latch start(n);
  std::vector<std::thread> threads;
  for (int k = 0; k < n; ++k) {
    threads.emplace_back([&, k] {
      start.arrive_and_wait();
      body(k);
    });
  }
  for (auto &thread : threads) thread.join();
}

specializers::SpecializationRequest add_two_float64_arrays() {
  return elementwise_request(lambda({"a", "b"}, add(name("a"), name("b"))),
                             {array_of(specializers::DType::kFloat64), array_of(specializers::DType::kFloat64)});
}

}  // namespace

TEST_CASE("concurrent calls with one key run the work once", "[single_flight]") {
  constexpr int kCallers = 16;
  SingleFlight<int> flights;
  std::atomic<int> runs{0};
  std::vector<int> results(kCallers, 0);
  std::vector<FlightRole> roles(kCallers);

  run_concurrently(kCallers, [&](int k) {
    results[k] = flights.run("same key", [&] {
      ++runs;
      std::this_thread::sleep_for(200ms);
      return 42;
    }, roles[k]);
  });

  CHECK(runs == 1);
  CHECK(std::count(roles.begin(), roles.end(), FlightRole::kLeader) == 1);
  CHECK(std::count(roles.begin(), roles.end(), FlightRole::kJoined) == kCallers - 1);
  CHECK(std::count(results.begin(), results.end(), 42) == kCallers);
}

TEST_CASE("calls with different keys run independently", "[single_flight]") {
  SingleFlight<std::string> flights;
  std::atomic<int> running{0}, most_running{0};
  std::vector<std::string> results(2);
  std::vector<FlightRole> roles(2);

  run_concurrently(2, [&](int k) {
    const std::string key = k == 0 ? "left" : "right";
    results[k] = flights.run(key, [&] {
      int now = ++running;
      int seen = most_running;
      while (now > seen && !most_running.compare_exchange_weak(seen, now)) {}
      std::this_thread::sleep_for(200ms);
      --running;
      return key;
    }, roles[k]);
  });

  CHECK(results == std::vector<std::string>{"left", "right"});
  CHECK(roles == std::vector<FlightRole>{FlightRole::kLeader, FlightRole::kLeader});
  CHECK(most_running == 2);  // neither waited for the other
}

TEST_CASE("a later call with the same key runs the work again", "[single_flight]") {
  SingleFlight<int> flights;
  int runs = 0;
  FlightRole role;
  flights.run("key", [&] { return ++runs; }, role);
  CHECK(flights.run("key", [&] { return ++runs; }, role) == 2);
  CHECK(role == FlightRole::kLeader);
}

TEST_CASE("identical concurrent specialize requests compile once; a restarted core serves them from the store",
          "[single_flight][specializer_core]") {
  constexpr int kRequests = 8;
  TempDir cache;
  const auto request = add_two_float64_arrays();
  std::string digest;
  std::vector<std::string> compiled_notes;
  {
    auto core = create_core(cache.path());
    std::vector<absl::StatusOr<SpecializeResult>> results(kRequests, absl::UnknownError("not run"));
    run_concurrently(kRequests, [&](int k) { results[k] = core->specialize(request, {}); });

    for (const auto &result : results) {
      REQUIRE(result.ok());
      CHECK(result->artifact.digest == results[0]->artifact.digest);
      CHECK(result->interface.entries.front().symbol == "sejits_elementwise");
      CHECK(result->interface.result_dtype() == specializers::DType::kFloat64);
    }
    const StatsSnapshot stats = core->stats().counters;
    CHECK(stats.requests == kRequests);
    CHECK(stats.compiles == 1);
    CHECK(stats.joined_in_flight + stats.cache_hits == kRequests - 1);
    CHECK(core->stats().store.entries == 1);
    digest = results[0]->artifact.digest;
    compiled_notes = results[0]->notes;
  }

  auto restarted = create_core(cache.path());
  auto result = restarted->specialize(request, {});
  REQUIRE(result.ok());
  CHECK(result->outcome == CacheOutcome::kHit);
  CHECK(result->artifact.digest == digest);
  CHECK(result->interface.entries.front().symbol == "sejits_elementwise");
  CHECK(!compiled_notes.empty());
  CHECK(result->notes == compiled_notes);  // explain() says the same on a hit
  CHECK(restarted->stats().counters.compiles == 0);
  CHECK(restarted->stats().counters.cache_hits == 1);
}

}  // namespace sejits::server
