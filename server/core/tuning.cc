#include "server/core/tuning.h"

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "specializers/common/variant_params.h"
#include "spdlog/spdlog.h"

namespace sejits::server {
namespace {

// Timed calls per variant and round. With 3, single noisy calls decided
// between E2's variants (a few % apart); medians of 5 hold still enough for
// the 2% margin on a quiet machine.
constexpr int kSamplesPerVariant = 5;
// When the client's budget runs out, variants timed at least this often compete.
constexpr int kMinSamplesWhenOutOfBudget = 2;

std::string now_utc() { return absl::FormatTime("%Y-%m-%dT%H:%M:%SZ", absl::Now(), absl::UTCTimeZone()); }

int64_t samples_of(const tuner::TuningRecord &record) {
  int64_t total = 0;
  for (const tuner::VariantStats &variant : record.variants) total += static_cast<int64_t>(variant.samples.size());
  return total;
}

}  // namespace

bool has_variant_params(const specializers::SpecializationRequest &request) {
  for (const auto &[name, value] : request.params) {
    if (specializers::is_variant_param(name)) return true;
  }
  return false;
}

TuningCoordinator::TuningCoordinator(const std::filesystem::path &database, tuner::PlatformFingerprint platform,
                                     TimingSite site)
    : platform_(std::move(platform)), site_(site) {
  // A database that SQLite cannot read is moved aside (logged) and a fresh
  // one created: never a crash loop, never a daemon left without tuning.
  if (auto moved = tuner::quarantine_if_corrupt(database); !moved.ok()) {
    spdlog::error("tuning: {}", std::string(moved.status().message()));
  }
  auto db = tuner::TuningDb::open(database);
  if (!db.ok()) {
    unavailable_reason_ = std::string(db.status().message());
    spdlog::error("tuning: {}; kernels are compiled and served without tuning", unavailable_reason_);
    return;
  }
  db_ = std::move(*db);
  spdlog::info("tuning: database {} (schema {}), platform {} ({}), timings by the {}", database.string(),
               db_->schema_version(), platform_.fingerprint, platform_.description,
               site_ == TimingSite::kClient ? "client" : "daemon (offline)");
}

absl::StatusOr<TuningAsk> with_shape_class(const specializers::Specializer &specializer,
                                           const specializers::SpecializationRequest &request, TuningAsk ask) {
  // Clients before TuningRequest.entry sent a shape class of their own
  // making, whose first field named the role; nothing else of it is read.
  if (ask.entry.empty()) ask.entry = ask.shape_class.substr(0, ask.shape_class.find(':'));
  if (ask.entry.empty() || ask.entry.size() > 64) {
    return absl::InvalidArgumentError("tuning needs the entry role it times (at most 64 characters)");
  }
  ask.shape_class = specializer.shape_class(request, ask.entry);
  return ask;
}

absl::StatusOr<TuningListing> TuningCoordinator::list(const std::string &kernel_filter) {
  if (!db_) return absl::FailedPreconditionError(absl::StrCat("no tuning database: ", unavailable_reason_));
  absl::StatusOr<std::vector<tuner::TuningRecord>> records = db_->list(kernel_filter);
  if (!records.ok()) return records.status();
  return TuningListing{std::move(*records), db_->path().string(), platform_.fingerprint, platform_.description};
}

absl::StatusOr<TuningImportSummary> TuningCoordinator::import(const std::string &jsonl, const std::string &source_name) {
  if (!db_) return absl::FailedPreconditionError(absl::StrCat("no tuning database: ", unavailable_reason_));
  return db_->import_jsonl(jsonl, source_name);
}

TuningPlan TuningCoordinator::plan(const specializers::Specializer &specializer,
                                   const specializers::SpecializationRequest &request, const TuningAsk &ask,
                                   const std::string &kernel_key) {
  auto planned = report(specializer, request, ask, kernel_key, {}, false);
  if (planned.ok()) return *planned;
  TuningPlan untuned;
  untuned.reason = std::string(planned.status().message());
  return untuned;
}

absl::StatusOr<TuningPlan> TuningCoordinator::report(const specializers::Specializer &specializer,
                                                     const specializers::SpecializationRequest &request,
                                                     const TuningAsk &ask_as_sent, const std::string &kernel_key,
                                                     const std::vector<VariantTiming> &timings, bool finish) {
  TuningPlan untuned;
  if (ask_as_sent.mode == TuningMode::kOff) {
    untuned.reason = "tuning is off";
    return untuned;
  }
  if (has_variant_params(request)) {
    untuned.reason = "the request names its variant";
    return untuned;
  }
  absl::StatusOr<TuningAsk> resolved = with_shape_class(specializer, request, ask_as_sent);
  if (!resolved.ok()) return resolved.status();
  const TuningAsk &ask = *resolved;
  tuner::TuningSpace space = specializer.tuning_space(request, ask.shape_class);
  if (space.empty()) {
    untuned.reason = "this kernel has no variants to tune";
    return untuned;
  }
  untuned.space = space;
  untuned.shape_class = ask.shape_class;
  untuned.label = tuner::variant_label(space.default_variant());
  if (!db_) {
    untuned.reason = absl::StrCat("tuning database unavailable: ", unavailable_reason_);
    return untuned;
  }
  if (ask.shape_class.size() > 200) return absl::InvalidArgumentError("a shape class of more than 200 characters");
  const tuner::PlatformFingerprint platform = platform_of(ask);
  tuner::TuningKey key{kernel_key, ask.shape_class, platform.fingerprint};
  for (const VariantTiming &timing : timings) {
    std::optional<tuner::Variant> variant = tuner::parse_variant_label(timing.label);
    if (!variant || !space.contains(*variant)) {
      return absl::InvalidArgumentError(absl::StrCat("timings for '", timing.label.substr(0, 80),
                                                     "', which is not a variant of this kernel"));
    }
    absl::Status added = db_->add_samples(key, ask.kernel_name, platform.description, timing.label, timing.samples, timing.error);
    if (!added.ok()) return added;
  }
  absl::StatusOr<tuner::TuningRecord> record = db_->find(key);
  if (!record.ok()) return record.status();
  TuningPlan plan = plan_from(specializer, space, ask, *record, finish);
  if (plan.state == PlanState::kChosen && !record->choice) {
    tuner::Choice choice{plan.label, now_utc(), samples_of(*record), plan.reason};
    if (absl::Status chosen = db_->choose(key, choice); !chosen.ok()) return chosen;
    record->choice = choice;
    spdlog::info("tuning: {} [{}] chose {} from {} samples ({})", ask.kernel_name, ask.shape_class, plan.label,
                 choice.samples, plan.reason);
  }
  plan.record = *record;
  return plan;
}

tuner::PlatformFingerprint TuningCoordinator::platform_of(const TuningAsk &ask) const {
  return ask.device.empty() ? platform_ : tuner::on_device(platform_, ask.device);
}

TuningPlan TuningCoordinator::plan_from(const specializers::Specializer &specializer, const tuner::TuningSpace &space,
                                        const TuningAsk &ask, const tuner::TuningRecord &record, bool finish) const {
  tuner::SearchOptions options;
  options.kind = ask.mode == TuningMode::kExhaustive ? tuner::SearchKind::kExhaustive : tuner::SearchKind::kCoordinate;
  options.samples_per_variant = kSamplesPerVariant;
  tuner::SearchStep step = tuner::next_search_step(space, record, options);
  TuningPlan plan;
  plan.space = space;
  plan.shape_class = ask.shape_class;
  plan.samples_per_variant = kSamplesPerVariant;
  tuner::Variant use = step.best;
  if (step.done) {
    plan.state = PlanState::kChosen;
    plan.reason = step.reason;
  } else if (finish) {
    use = tuner::best_measured(space, record, kMinSamplesWhenOutOfBudget);
    const tuner::VariantStats *stats = record.find(tuner::variant_label(use));
    if (stats != nullptr && static_cast<int>(stats->samples.size()) >= kMinSamplesWhenOutOfBudget) {
      plan.state = PlanState::kChosen;
      plan.reason = "the client's tuning budget was spent";
    } else {  // nothing timed enough to be remembered for everyone
      plan.state = PlanState::kUntuned;
      plan.reason = "the client's tuning budget was spent before any variant was timed twice";
    }
  } else {
    // Entries the daemon's child cannot time are timed by the client, as
    // are calls on an OpenCL device (the child runs host code only).
    const bool offline = site_ == TimingSite::kOffline && ask.device.empty() && specializer.times_offline(ask.entry);
    plan.state = offline ? PlanState::kOfflinePending : PlanState::kTrying;
    plan.reason = step.reason;
    for (const tuner::Variant &candidate : step.to_time) {
      plan.candidates.push_back(tuner::variant_label(candidate));
      plan.candidate_params[plan.candidates.back()] = specializer.variant_request_params(space, candidate);
    }
  }
  if (record.choice) {
    if (auto chosen = tuner::parse_variant_label(record.choice->label); chosen && space.contains(*chosen)) {
      use = *chosen;
      plan.state = PlanState::kChosen;
      plan.candidates.clear();
      plan.reason = absl::StrCat("chosen ", record.choice->chosen_at, " from ", record.choice->samples, " samples (",
                                 record.choice->reason, ")");
    }
  }
  plan.label = tuner::variant_label(use);
  plan.variant_params = specializer.variant_request_params(space, use);
  plan.candidate_params[plan.label] = plan.variant_params;
  return plan;
}

}  // namespace sejits::server
