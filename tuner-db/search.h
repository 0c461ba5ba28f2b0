// Which variant to use next: coordinate descent over the space (up to two
// passes, then the winner re-timed beside the default). The search is
// stateless: it reads the samples recorded so far and answers the variants
// still to time, or the choice.
#pragma once

#include <string>
#include <vector>

#include "tuner-db/records.h"
#include "tuner-db/variant.h"

namespace sejits::tuner {

enum class SearchKind {
  kCoordinate,  // one parameter at a time from the default, keeping the best; confirmed against the default
  kExhaustive,  // every point of the space
};

struct SearchOptions {
  SearchKind kind = SearchKind::kCoordinate;
  int samples_per_variant = 3;     // timed calls a variant needs before it is compared
  double min_improvement = 0.02;   // a variant must beat the incumbent's median by this fraction
};

struct SearchStep {
  bool done = false;
  Variant best;                    // the best complete variant so far (the default at first)
  std::vector<Variant> to_time;    // when not done: the variants that still need samples
  std::string reason;              // why this step: "parameter threads", "pass complete", ...
};

// The next step of the search over `space`, given what `record` holds
// (variants with errors are never chosen; a variant with an error counts as
// timed). A record with a choice is done at that choice.
SearchStep next_search_step(const TuningSpace &space, const TuningRecord &record, const SearchOptions &options);

// The variant with the lowest median among those with enough samples and no
// errors; the default when none qualifies (for a budget that ran out).
Variant best_measured(const TuningSpace &space, const TuningRecord &record, int min_samples);

}  // namespace sejits::tuner
