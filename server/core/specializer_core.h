// The daemon's request handling, independent of the network: key, index
// lookup, single-flight compile on a bounded pool, store, answer.
#pragma once

#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "codegen/artifact_store.h"
#include "codegen/compiler_driver.h"
#include "codegen/precompiled_header.h"
#include "server/core/compile_pool.h"
#include "server/core/compile_target.h"
#include "server/core/single_flight.h"
#include "server/core/stats.h"
#include "server/core/tuning.h"
#include "server/core/upstream.h"
#include "specializers/request.h"

namespace sejits::server {

struct CoreConfig {
  std::filesystem::path cache_dir;
  int64_t max_cache_bytes = int64_t{2} << 30;
  int64_t max_artifact_bytes = int64_t{256} << 20;  // a larger build is refused, not stored
  int compile_jobs = 2;
  codegen::CompilerConfig compiler;
  std::vector<std::string> listen_addresses;  // for stats only
  std::filesystem::path tuning_db;            // default: <cache_dir>/tuning.db
  TimingSite timing_site = TimingSite::kClient;
  std::filesystem::path tune_runner;          // the offline timing child (sejits-tune-runner)
  bool has_compiler = true;                   // false: --compiler=none, misses go upstream
  std::shared_ptr<Upstream> upstream;         // where misses go first, if set
};

// kNumpySource: a printed NumPy module, no artifact (platform "numpy").
enum class CacheOutcome { kHit = 1, kCompiled = 2, kJoined = 3, kNumpySource = 4 };

struct SpecializeOptions {
  bool want_source = false;
  TuningAsk tuning;
};

struct SpecializeResult {
  std::string key;
  codegen::BlobInfo artifact;
  specializers::KernelInterface interface;  // the artifact's entry points
  CacheOutcome outcome = CacheOutcome::kHit;
  double compile_seconds = 0;
  double elapsed_seconds = 0;
  std::string source;
  std::vector<std::string> notes;
  std::string specializer_version;
  std::string build_identity;  // of the daemon that answers (see build_identity.h)
  TuningPlan tuning;
};

struct DaemonStats {
  std::string version;
  std::string build_identity;
  double uptime_seconds = 0;
  StatsSnapshot counters;
  codegen::StoreCounters store;
  std::string cache_dir;
  std::vector<std::string> listen_addresses;
  std::string compiler;  // or "none"
  std::string upstream;
};

class SpecializerCore {
 public:
  static absl::StatusOr<std::unique_ptr<SpecializerCore>> create(CoreConfig config);
  ~SpecializerCore();

  absl::StatusOr<SpecializeResult> specialize(const specializers::SpecializationRequest &request,
                                              const SpecializeOptions &options);
  // The answer to `request` when it is a plain cache hit (no tuning plan, no
  // source wanted): a key and a store lookup, cheap enough for the RPC
  // thread. nullopt: call specialize().
  std::optional<SpecializeResult> serve_if_cached(const specializers::SpecializationRequest &request,
                                                  const SpecializeOptions &options);
  // For a request the RPC layer answers from its memo of earlier hits: the
  // artifact is still stored and intact (checked as for any hit). Counts the
  // hit; false: the request must take the full path.
  bool confirm_hit(const std::string &artifact_digest);
  // Records a client's timings for the kernel of `request` and answers the
  // next plan (see TuningCoordinator::report).
  absl::StatusOr<TuningPlan> report_timings(const specializers::SpecializationRequest &request, const TuningAsk &ask,
                                            const std::vector<VariantTiming> &timings, bool finish);
  TuningCoordinator &tuning() { return *tuning_; }
  // The tuning database, or FAILED_PRECONDITION saying why there is none.
  absl::StatusOr<tuner::TuningDb *> tuning_database();
  // Deletes the matching tuning records (all when empty); offline searches
  // that failed may run again.
  absl::StatusOr<int64_t> reset_tuning(const std::string &kernel_filter);
  // The artifact with this digest, verified; for FetchArtifact.
  absl::StatusOr<codegen::BlobInfo> artifact(const std::string &digest);
  DaemonStats stats();
  // Digest of what this daemon builds (computed once, at create).
  const std::string &build_identity() const { return build_identity_; }
  Stats &counters() { return stats_; }
  // Keeps the store under its size bound; the daemon calls it periodically.
  void maintain();

 private:
  explicit SpecializerCore(CoreConfig config);

  // What a build yields, shared with joined requests.
  struct Build {
    absl::Status status;
    SpecializeResult result;
  };
  Build build(const specializers::SpecializationRequest &request, const std::string &key, const CompileTarget &target,
              bool want_source);
  Build compile_here(const specializers::SpecializationRequest &request, const std::string &key, const CompileTarget &target);
  // A request for the "numpy" platform: the pipeline's Python module,
  // answered without compiling, storing or tuning.
  absl::StatusOr<SpecializeResult> numpy_module(const specializers::SpecializationRequest &request);
  Build fetch_from_upstream(const specializers::SpecializationRequest &request, const std::string &key, bool want_source);
  // Publishes a built artifact: the blob, then the index entry naming it.
  absl::Status publish(const std::string &key, const std::filesystem::path &file, SpecializeResult &result);
  // The artifact of exactly this request (variant params included).
  absl::StatusOr<SpecializeResult> serve(const specializers::SpecializationRequest &request, const SpecializeOptions &options);
  std::string key_of(const specializers::SpecializationRequest &request) const;
  std::string key_of(const specializers::SpecializationRequest &request, const CompileTarget &target) const;

  std::optional<SpecializeResult> serve_from_store(const std::string &key);
  // serve_from_store, counted and logged as a cache hit.
  std::optional<SpecializeResult> counted_hit(const std::string &key);

  CoreConfig config_;
  std::unique_ptr<codegen::ArtifactStore> store_;
  std::string compiler_identity_;
  std::string runtime_digest_;
  std::string build_identity_;
  CompilePool pool_;
  codegen::PrecompiledRuntimeHeader precompiled_header_;  // built in the background on the first compile
  SingleFlight<Build> flights_;
  Stats stats_;
  absl::Time started_ = absl::Now();
  std::unique_ptr<TuningCoordinator> tuning_;
  std::unique_ptr<class OfflineTuner> offline_;  // last: its jobs use the members above
};

}  // namespace sejits::server
