// The cache a kernel counts on (sejits/cache_share.h) and the `iterate`
// wavefront it leads to (sejits/stencil_wavefront.h), on machines described by
// fake sysfs trees: a VM that reports a socket's whole L3 as its own must get
// the wavefront a VM of the same CPUs with a smaller L3 gets, not one sized for
// hundreds of MiB.
#include <stdlib.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include "sejits/cache_share.h"
#include "sejits/stencil_wavefront.h"
#include "temp_dir.h"

namespace sejits {
namespace {

constexpr int64_t kMiB = int64_t{1} << 20;

struct FakeCache {
  int level;
  std::string type;  // "Data", "Instruction", "Unified"
  std::string size;  // as sysfs writes it: "32768K"
  std::string shared_cpu_list;
};

void write_line(const std::filesystem::path &path, const std::string &text) {
  std::ofstream(path) << text << "\n";
}

// cpu<N>/cache/index<k>/ for each CPU, as /sys/devices/system/cpu lays them out.
void add_cpu(const std::filesystem::path &root, int cpu, const std::vector<FakeCache> &caches) {
  for (size_t index = 0; index < caches.size(); ++index) {
    std::filesystem::path dir = root / ("cpu" + std::to_string(cpu)) / "cache" / ("index" + std::to_string(index));
    std::filesystem::create_directories(dir);
    write_line(dir / "level", std::to_string(caches[index].level));
    write_line(dir / "type", caches[index].type);
    write_line(dir / "size", caches[index].size);
    write_line(dir / "shared_cpu_list", caches[index].shared_cpu_list);
  }
}

// A 2-vCPU VM: private L1 and L2 per CPU, an L3 its topology says the two share.
void two_cpu_vm(const std::filesystem::path &root, const std::string &l2, const std::string &l3) {
  for (int cpu = 0; cpu < 2; ++cpu) {
    const std::string self = std::to_string(cpu);
    add_cpu(root, cpu, {{1, "Data", "32K", self}, {1, "Instruction", "32K", self}, {2, "Unified", l2, self}, {3, "Unified", l3, "0-1"}});
  }
}

struct Usable {
  unsigned char cpus[SEJITS_CACHE_MAX_CPUS] = {};
  explicit Usable(std::vector<int> list) {
    for (int cpu : list) cpus[cpu] = 1;
  }
};

int64_t share_under(const std::filesystem::path &root, const Usable &usable) {
  sejits_cache_domain domains[SEJITS_CACHE_MAX_DOMAINS];
  int count = sejits_read_cache_domains(root.c_str(), usable.cpus, domains, SEJITS_CACHE_MAX_DOMAINS);
  REQUIRE(count > 0);
  return sejits_cache_share_bytes(domains, count);
}

// S3 of the benchmarks: 256^3 float64, 10 sweeps; an item is one 256x256 plane.
constexpr int64_t kPlaneBytes = 256 * 256 * 8;
int64_t s3_depth(int64_t cache_bytes, int64_t threads) { return sejits_wavefront_depth(cache_bytes, kPlaneBytes, 1, threads, 10); }

TEST_CASE("a 480 MiB L3 on a 2-CPU VM gets the wavefront of a 32 MiB one", "[cache_share]") {
  testing::TempDir intel, amd;
  two_cpu_vm(intel.path(), "2048K", "491520K");  // Intel Xeon VM: 480 MiB L3 "shared by 0-1"
  two_cpu_vm(amd.path(), "1024K", "32768K");     // AMD EPYC VM: 32 MiB L3 "shared by 0-1"
  Usable both({0, 1});
  const int64_t intel_share = share_under(intel.path(), both), amd_share = share_under(amd.path(), both);
  CHECK(intel_share == 2 * SEJITS_CACHE_PER_CPU_CAP);
  CHECK(amd_share == intel_share);
  CHECK(s3_depth(intel_share, 2) == s3_depth(amd_share, 2));
  // The live blocks of the chosen wavefront fit in half the share.
  const int64_t depth = s3_depth(intel_share, 2);
  CHECK(depth == 2);
  CHECK(sejits_wavefront_live_bytes(depth, kPlaneBytes, 1, 2) <= intel_share / 2);
  // Trusting the whole reported L3 (the old rule) plans for 480 MiB: a
  // wavefront of every sweep, whose live blocks spill.
  CHECK(s3_depth(480 * kMiB, 2) == 10);
  CHECK(sejits_wavefront_live_bytes(10, kPlaneBytes, 1, 2) > intel_share);
}

TEST_CASE("a process gets its CPUs' part of each last-level cache", "[cache_share]") {
  testing::TempDir machine;
  // Bare metal, 16 CPUs in two L3 domains of 8 (EPYC CCXs of 32 MiB).
  for (int cpu = 0; cpu < 16; ++cpu) {
    add_cpu(machine.path(), cpu, {{2, "Unified", "1024K", std::to_string(cpu)}, {3, "Unified", "32768K", cpu < 8 ? "0-7" : "8-15"}});
  }
  CHECK(share_under(machine.path(), Usable({0, 1})) == 8 * kMiB);      // 2 of 8 CPUs of one L3
  CHECK(share_under(machine.path(), Usable({0, 8})) == 8 * kMiB);      // one CPU in each
  CHECK(share_under(machine.path(), Usable({0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15})) == 64 * kMiB);
  CHECK(share_under(machine.path(), Usable({3})) == 4 * kMiB);
}

TEST_CASE("a machine sysfs does not describe falls back", "[cache_share]") {
  testing::TempDir empty, partial;
  sejits_cache_domain domains[4];
  Usable both({0, 1});
  CHECK(sejits_read_cache_domains(empty.path().c_str(), both.cpus, domains, 4) == -1);
  add_cpu(partial.path(), 0, {{3, "Unified", "8192K", "0"}});  // cpu1: no cache directory, in no list
  CHECK(sejits_read_cache_domains(partial.path().c_str(), both.cpus, domains, 4) == -1);
  // No cache at all: the per-CPU guess, for the CPUs of the affinity mask.
  CHECK(sejits_measure_cache_share(empty.path().c_str()) > 0);
}

TEST_CASE("sysfs CPU lists and sizes parse", "[cache_share]") {
  unsigned char cpus[SEJITS_CACHE_MAX_CPUS] = {};
  CHECK(sejits_parse_cpu_list("0-3,8,10-11\n", cpus) == 7);
  CHECK((cpus[3] && cpus[8] && cpus[11] && !cpus[4] && !cpus[9]));
  unsigned char none[SEJITS_CACHE_MAX_CPUS] = {};
  CHECK(sejits_parse_cpu_list("3-1", none) == -1);
  CHECK(sejits_parse_cpu_list("a", none) == -1);
  CHECK(sejits_parse_cache_size("32768K") == 32 * kMiB);
  CHECK(sejits_parse_cache_size("480M") == 480 * kMiB);
  CHECK(sejits_parse_cache_size("123") == 123);
  CHECK(sejits_parse_cache_size("16m") == 16 * kMiB);
  CHECK(sejits_parse_cache_size("") == 0);
}

TEST_CASE("the wavefront is as deep as half the cache holds, at least 2 sweeps", "[cache_share]") {
  // 32 MiB: 8 sweeps of one plane per block (16 MiB live).
  CHECK(s3_depth(32 * kMiB, 2) == 8);
  CHECK(sejits_wavefront_block_items(8, 1, 2) == 1);
  // 8 MiB (two CPUs' share): two sweeps, one plane each per wave for two threads.
  CHECK(s3_depth(8 * kMiB, 2) == 2);
  CHECK(sejits_wavefront_block_items(2, 1, 2) == 1);
  CHECK(sejits_wavefront_live_bytes(2, kPlaneBytes, 1, 2) == 4 * kMiB);
  // Small caches still get two sweeps per pass; more threads than sweeps, more planes per block.
  CHECK(s3_depth(2 * kMiB, 2) == 2);
  CHECK(sejits_wavefront_block_items(2, 1, 8) == 4);
  CHECK(sejits_wavefront_block_items(2, 3, 2) == 3);
  // Never deeper than the sweeps asked for, nor than one sweep for one.
  CHECK(sejits_wavefront_depth(int64_t{1} << 40, kPlaneBytes, 1, 2, 5) == 5);
  CHECK(sejits_wavefront_depth(32 * kMiB, kPlaneBytes, 1, 2, 1) == 1);
}

TEST_CASE("SEJITS_CACHE_BYTES overrides the machine's figure", "[cache_share]") {
  setenv("SEJITS_CACHE_BYTES", "12M", 1);
  CHECK(sejits_usable_cache_bytes() == 12 * kMiB);
  unsetenv("SEJITS_CACHE_BYTES");
}

}  // namespace
}  // namespace sejits
