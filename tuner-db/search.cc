#include "tuner-db/search.h"

#include <algorithm>
#include <set>

#include "absl/strings/str_cat.h"

namespace sejits::tuner {
namespace {

// Beyond this many points an exhaustive search would ask for more variants
// than anyone can time; it walks the coordinates instead.
constexpr int64_t kMaxExhaustivePoints = int64_t{1} << 16;

const VariantStats *stats_of(const TuningRecord &record, const Variant &variant) {
  return record.find(variant_label(variant));
}

// Enough samples to compare, or known not to work.
bool is_timed(const VariantStats *stats, int samples_per_variant) {
  return stats != nullptr &&
         (stats->errors > 0 || static_cast<int64_t>(stats->samples.size()) >= std::max(samples_per_variant, 1));
}

bool is_comparable(const VariantStats *stats) {
  return stats != nullptr && stats->errors == 0 && !stats->samples.empty();
}

// The candidate with the lowest median among the comparable ones; the
// earliest wins a tie. Null when none is comparable.
const Variant *fastest(const std::vector<Variant> &candidates, const TuningRecord &record) {
  const Variant *winner = nullptr;
  double winner_median = 0;
  for (const Variant &candidate : candidates) {
    const VariantStats *stats = stats_of(record, candidate);
    if (!is_comparable(stats)) continue;
    if (winner == nullptr || stats->median < winner_median) {
      winner = &candidate;
      winner_median = stats->median;
    }
  }
  return winner;
}

// Whether `rival` should replace `incumbent`: always when the incumbent
// failed, else only when it is faster by more than the margin (noise must not
// move the choice away from the default).
bool replaces(const VariantStats *rival, const VariantStats *incumbent, double min_improvement) {
  if (!is_comparable(incumbent)) return true;
  return rival->median < incumbent->median * (1 - min_improvement);
}

std::optional<Variant> earlier_choice(const TuningSpace &space, const TuningRecord &record) {
  if (!record.choice) return std::nullopt;
  auto variant = parse_variant_label(record.choice->label);
  if (!variant || !space.contains(*variant)) return std::nullopt;
  return variant;
}

// One coordinate-descent pass from `start`: each parameter in turn, its
// values timed with the others at the best so far.
SearchStep coordinate_pass(const TuningSpace &space, const TuningRecord &record, const SearchOptions &options,
                           Variant start) {
  Variant best = std::move(start);
  for (const TuningParameter &parameter : space.parameters) {
    std::vector<Variant> candidates;
    std::set<std::string> seen;  // a value listed twice is one candidate
    for (const std::string &value : parameter.values) {
      if (!seen.insert(value).second) continue;
      Variant candidate = best;
      candidate[parameter.name] = value;
      candidates.push_back(std::move(candidate));
    }
    std::vector<Variant> to_time;
    std::copy_if(candidates.begin(), candidates.end(), std::back_inserter(to_time), [&](const Variant &candidate) {
      return !is_timed(stats_of(record, candidate), options.samples_per_variant);
    });
    if (!to_time.empty()) {
      return SearchStep{false, best, std::move(to_time), absl::StrCat("parameter ", parameter.name)};
    }
    const Variant *winner = fastest(candidates, record);
    if (winner != nullptr && *winner != best &&
        replaces(stats_of(record, *winner), stats_of(record, best), options.min_improvement)) {
      best = *winner;
    }
  }
  return SearchStep{true, best, {}, "search complete"};
}

// Passes until one changes nothing (at most kMaxPasses: a choice made while
// another parameter was still at its default gets a second look), then the
// winner is timed again beside the default, and kept only if it still beats
// it: noise in a few samples must not leave the user slower than untuned.
SearchStep coordinate_search(const TuningSpace &space, const TuningRecord &record, const SearchOptions &options) {
  constexpr int kMaxPasses = 2;
  const Variant fallback = space.default_variant();
  Variant best = fallback;
  for (int pass = 0; pass < kMaxPasses; ++pass) {
    SearchStep step = coordinate_pass(space, record, options, best);
    if (!step.done) return step;
    const bool changed = step.best != best;
    best = step.best;
    if (!changed) break;
  }
  if (best == fallback) return SearchStep{true, best, {}, "search complete: the default is fastest"};
  const int confirming = 2 * std::max(options.samples_per_variant, 1);
  std::vector<Variant> to_time;
  for (const Variant &variant : {fallback, best}) {
    if (!is_timed(stats_of(record, variant), confirming)) to_time.push_back(variant);
  }
  if (!to_time.empty()) return SearchStep{false, best, std::move(to_time), "confirming the winner against the default"};
  if (!replaces(stats_of(record, best), stats_of(record, fallback), options.min_improvement)) {
    return SearchStep{true, fallback, {}, "search complete: the winner did not beat the default when timed again"};
  }
  return SearchStep{true, best, {}, "search complete"};
}

SearchStep exhaustive(const TuningSpace &space, const TuningRecord &record, const SearchOptions &options) {
  const std::vector<Variant> variants = space.all_variants();
  std::vector<Variant> to_time;
  std::copy_if(variants.begin(), variants.end(), std::back_inserter(to_time), [&](const Variant &variant) {
    return !is_timed(stats_of(record, variant), options.samples_per_variant);
  });
  if (!to_time.empty()) {
    return SearchStep{false, best_measured(space, record, options.samples_per_variant), std::move(to_time),
                      "every point"};
  }
  return SearchStep{true, best_measured(space, record, options.samples_per_variant), {}, "search complete"};
}

}  // namespace

SearchStep next_search_step(const TuningSpace &space, const TuningRecord &record, const SearchOptions &options) {
  if (auto chosen = earlier_choice(space, record)) return SearchStep{true, *chosen, {}, "chosen earlier"};
  if (space.empty()) return SearchStep{true, {}, {}, "nothing to tune"};
  if (options.kind == SearchKind::kExhaustive && space.size() <= kMaxExhaustivePoints) {
    return exhaustive(space, record, options);
  }
  return coordinate_search(space, record, options);
}

Variant best_measured(const TuningSpace &space, const TuningRecord &record, int min_samples) {
  const VariantStats *best = nullptr;
  Variant best_variant = space.default_variant();
  for (const VariantStats &stats : record.variants) {
    if (stats.errors > 0 || static_cast<int64_t>(stats.samples.size()) < std::max(min_samples, 1)) continue;
    auto variant = parse_variant_label(stats.label);
    if (!variant || !space.contains(*variant)) continue;
    // A tie goes to the first label, however the record is ordered.
    if (best == nullptr || stats.median < best->median || (stats.median == best->median && stats.label < best->label)) {
      best = &stats;
      best_variant = std::move(*variant);
    }
  }
  return best_variant;
}

}  // namespace sejits::tuner
