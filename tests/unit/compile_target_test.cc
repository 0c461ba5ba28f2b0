// Which CPU a compile targets (the worker's, not the compile server's), the
// x86-64 level read from CPU flags, and the fair worker pool's turns.
#include <atomic>
#include <chrono>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <catch2/catch.hpp>

#include "codegen/host_platform.h"
#include "server/core/compile_target.h"
#include "server/core/fair_worker_pool.h"

namespace sejits::server {
namespace {

codegen::HostPlatform server_host() {
  return {"x86_64", "linux", "glibc 2.36", "model name : test", std::string(64, 'a'), "x86-64-v4"};
}

TEST_CASE("a local client or a worker with the server's CPU gets -march=native", "[compile_target]") {
  auto local = choose_compile_target({}, server_host());
  REQUIRE(local.ok());
  CHECK(local->march == "native");
  auto same = choose_compile_target({"x86_64", "linux", "glibc 2.36", "x86-64-v4", std::string(64, 'a')}, server_host());
  REQUIRE(same.ok());
  CHECK(same->flags == std::vector<std::string>{"-march=native"});
}

TEST_CASE("another CPU gets its own level, tuned generically", "[compile_target]") {
  auto other = choose_compile_target({"x86_64", "linux", "glibc 2.31", "x86-64-v2", std::string(64, 'b')}, server_host());
  REQUIRE(other.ok());
  CHECK(other->march == "x86-64-v2");
  CHECK(flags_for_target({"-O3", "-march=native", "-fPIC"}, *other) ==
        std::vector<std::string>{"-O3", "-march=x86-64-v2", "-mtune=generic", "-fPIC"});
  CHECK_THAT(other->note, Catch::Contains("x86-64-v2"));
  // An unknown or hostile level falls back to the baseline, never into the command line.
  auto odd = choose_compile_target({"x86_64", "linux", "", "x86-64-v9 -fplugin=evil.so", "c"}, server_host());
  REQUIRE(odd.ok());
  CHECK(odd->flags == std::vector<std::string>{"-march=x86-64", "-mtune=generic"});
}

TEST_CASE("another architecture or OS is refused with the reason", "[compile_target]") {
  auto arm = choose_compile_target({"aarch64", "linux", "", "", "d"}, server_host());
  CHECK(arm.status().code() == absl::StatusCode::kFailedPrecondition);
  CHECK_THAT(std::string(arm.status().message()), Catch::Contains("the worker is aarch64"));
  auto mac = choose_compile_target({"x86_64", "darwin", "", "x86-64-v3", "e"}, server_host());
  CHECK_THAT(std::string(mac.status().message()), Catch::Contains("darwin"));
}

TEST_CASE("the x86-64 level is the highest whose features are all present", "[compile_target]") {
  const std::string v2 = "flags\t\t: fpu cx16 lahf_lm popcnt sse4_1 sse4_2 ssse3";
  CHECK(codegen::x86_64_isa_level("flags\t\t: fpu sse2") == "x86-64");
  CHECK(codegen::x86_64_isa_level(v2) == "x86-64-v2");
  CHECK(codegen::x86_64_isa_level(v2 + " avx avx2 bmi1 bmi2 f16c fma abm movbe xsave") == "x86-64-v3");
  CHECK(codegen::x86_64_isa_level(v2 + " avx avx2 bmi1 bmi2 f16c fma movbe xsave") == "x86-64-v2");  // no abm (lzcnt)
  CHECK(codegen::x86_64_isa_level(v2 + " avx512f avx512bw avx512cd avx512dq avx512vl") == "x86-64-v2");  // v4 needs v3
}

TEST_CASE("the fair pool caps each client and takes clients in turn", "[compile_target]") {
  std::mutex mutex;
  std::vector<std::string> order;
  std::atomic<int> storm_running{0}, storm_peak{0};
  std::atomic<bool> release{false};
  int storm_queued = 0;
  {
    FairWorkerPool pool(4, 2, 4);
    auto storm = [&] {
      int now = ++storm_running;
      for (int peak = storm_peak; now > peak && !storm_peak.compare_exchange_weak(peak, now);) {}
      while (!release) std::this_thread::sleep_for(std::chrono::milliseconds(1));
      --storm_running;
      std::lock_guard lock(mutex);
      order.push_back("storm");
    };
    REQUIRE(pool.submit("storm", storm));
    REQUIRE(pool.submit("storm", storm));
    while (storm_running < 2) std::this_thread::sleep_for(std::chrono::milliseconds(1));
    // 2 running: 4 more wait, the fifth is refused.
    for (int k = 0; k < 5; ++k) storm_queued += pool.submit("storm", storm);
    CHECK(storm_queued == 4);
    std::atomic<bool> quiet_ran{false};
    CHECK(pool.submit("quiet", [&] {
      quiet_ran = true;
      std::lock_guard lock(mutex);
      order.push_back("quiet");
    }));
    // The storm holds at most 2 of the 4 threads, so the quiet client runs while it is blocked.
    for (int k = 0; k < 2000 && !quiet_ran; ++k) std::this_thread::sleep_for(std::chrono::milliseconds(1));
    CHECK(quiet_ran);
    release = true;
  }  // the destructor runs what is queued
  CHECK(storm_peak <= 2);
  CHECK(order.size() == static_cast<size_t>(3 + storm_queued));
  CHECK(order.front() == "quiet");
}

}  // namespace
}  // namespace sejits::server
