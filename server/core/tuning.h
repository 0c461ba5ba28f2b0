// The daemon's side of autotuning: which variant serves a request, what the
// client should time next, and what to remember. Stateless between calls:
// everything it knows is in the tuning database, so a restarted daemon (or
// another process on the node) continues where the last one stopped.
#pragma once

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "specializers/request.h"
#include "specializers/specializer.h"
#include "tuner-db/platform.h"
#include "tuner-db/search.h"
#include "tuner-db/tuning_db.h"

namespace sejits::server {

enum class TuningMode { kOff, kOnline, kExhaustive };
// Who times the candidates: the client on its real calls, or the daemon in a
// child process on synthetic inputs (--tuning_mode).
enum class TimingSite { kClient, kOffline };

struct TuningAsk {
  TuningMode mode = TuningMode::kOff;
  // The daemon's: computed from the request by the specializer (see
  // with_shape_class). From clients that predate `entry`, their own shape
  // class, read only for the entry role of its first field.
  std::string shape_class;
  std::string kernel_name;
  std::string entry;  // the entry role the client times, e.g. "call"
  // The OpenCL device the client times on (empty: the CPU): the choice is
  // recorded for this machine with that device.
  std::string device;
};

enum class PlanState { kUntuned, kChosen, kTrying, kOfflinePending };

struct TuningPlan {
  PlanState state = PlanState::kUntuned;
  std::string label;                                  // the variant the served artifact is
  std::map<std::string, std::string> variant_params;  // "variant.<name>" params selecting it (defaults omitted)
  std::vector<std::string> candidates;                // labels to time next
  // label -> the request params selecting it, for each candidate and the
  // served variant: the client sends these and derives nothing.
  std::map<std::string, std::map<std::string, std::string>> candidate_params;
  std::string shape_class;  // the daemon's, which keys the record
  int samples_per_variant = 0;
  std::string reason;
  tuner::TuningSpace space;
  std::optional<tuner::TuningRecord> record;
};

struct VariantTiming {
  std::string label;
  std::vector<double> samples;
  std::string error;
};

// The core's names for the tuning values it hands out (plain structs): the
// RPC layer converts these and knows nothing of the database.
using TuningRecord = tuner::TuningRecord;
using TuningParameter = tuner::TuningParameter;
using VariantStats = tuner::VariantStats;

// The tuning records a query matched, and where they are kept.
struct TuningListing {
  std::vector<TuningRecord> records;
  std::string database;  // path
  std::string platform;  // this daemon's fingerprint
  std::string platform_description;
};
using TuningImportSummary = tuner::ImportSummary;

class TuningCoordinator {
 public:
  // `database`: where the records live; when it cannot be opened the reason
  // is kept and every plan is untuned (compiling goes on).
  TuningCoordinator(const std::filesystem::path &database, tuner::PlatformFingerprint platform, TimingSite site);

  bool available() const { return db_ != nullptr; }
  TimingSite site() const { return site_; }
  const tuner::PlatformFingerprint &platform() const { return platform_; }
  tuner::TuningDb *database() { return db_.get(); }
  const std::string &unavailable_reason() const { return unavailable_reason_; }

  // The records whose kernel key or name starts with `kernel_filter` (all
  // when empty); FAILED_PRECONDITION without a database.
  absl::StatusOr<TuningListing> list(const std::string &kernel_filter);
  // Imports `sejits tune export` lines (records already here are kept).
  absl::StatusOr<TuningImportSummary> import(const std::string &jsonl, const std::string &source_name);

  // The plan for a request without explicit variant params; `kernel_key` is
  // its request key (that of the default variant).
  TuningPlan plan(const specializers::Specializer &specializer, const specializers::SpecializationRequest &request,
                  const TuningAsk &ask, const std::string &kernel_key);
  // Records a client's timings, then plans again; `finish`: the client's
  // budget is spent, choose among what was timed.
  absl::StatusOr<TuningPlan> report(const specializers::Specializer &specializer,
                                    const specializers::SpecializationRequest &request, const TuningAsk &ask,
                                    const std::string &kernel_key, const std::vector<VariantTiming> &timings, bool finish);

 private:
  TuningPlan plan_from(const specializers::Specializer &specializer, const tuner::TuningSpace &space, const TuningAsk &ask,
                       const tuner::TuningRecord &record, bool finish) const;
  // The platform the ask's timings are recorded under: this daemon's, or
  // this machine with the ask's OpenCL device.
  tuner::PlatformFingerprint platform_of(const TuningAsk &ask) const;

  std::unique_ptr<tuner::TuningDb> db_;
  std::string unavailable_reason_;
  tuner::PlatformFingerprint platform_;
  TimingSite site_;
};

// `ask` with the shape class the specializer computes from the request's
// arguments for the entry role it names; INVALID_ARGUMENT without a role.
absl::StatusOr<TuningAsk> with_shape_class(const specializers::Specializer &specializer,
                                           const specializers::SpecializationRequest &request, TuningAsk ask);

// "variant.<name>" params already in the request: it asks for one variant
// explicitly, and is not tuned.
bool has_variant_params(const specializers::SpecializationRequest &request);

}  // namespace sejits::server
