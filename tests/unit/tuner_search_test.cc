// The variant search, fed timings by hand: coordinate descent one parameter at
// a time (a second pass when the first changed something, then the winner
// re-timed beside the default), the improvement margin, failing variants, the
// exhaustive search, an earlier choice, and the fallback when the budget runs
// out. Also the variant labels the database stores.
#include <algorithm>
#include <catch2/catch.hpp>
#include <functional>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "tuner-db/search.h"

namespace sejits::tuner {
namespace {

// threads (3 values), tile (3 values), unroll (2 values); defaults 1, 32, 1.
TuningSpace three_parameter_space() {
  return TuningSpace{
      {{"threads", {"1", "2", "4"}, "1"}, {"tile", {"16", "32", "64"}, "32"}, {"unroll", {"1", "2"}, "1"}}};
}

// Records `samples` more timings of `seconds` each (and `errors` errors) for `variant`.
void record_timing(TuningRecord &record, const Variant &variant, double seconds, int samples = 3, int errors = 0) {
  const std::string label = variant_label(variant);
  auto known = std::find_if(record.variants.begin(), record.variants.end(),
                            [&](const VariantStats &stats) { return stats.label == label; });
  if (known == record.variants.end()) {
    record.variants.push_back(VariantStats{label});
    known = record.variants.end() - 1;
  }
  known->samples.insert(known->samples.end(), samples, seconds);
  known->errors += errors;
  if (errors > 0) known->last_error = "compile failed";
  if (!known->samples.empty()) known->median = known->min = known->mean = seconds;
  std::sort(record.variants.begin(), record.variants.end(),
            [](const VariantStats &a, const VariantStats &b) { return a.label < b.label; });
}

struct SearchRun {
  SearchStep final_step;
  std::vector<Variant> timed;  // in the order the search asked for them
};

// Drives the search to the end, timing each variant it asks for with `seconds_of`.
SearchRun run_search(const TuningSpace &space, const SearchOptions &options,
                     const std::function<double(const Variant &)> &seconds_of, TuningRecord record = {}) {
  SearchRun run;
  for (int step = 0; step < 100; ++step) {
    run.final_step = next_search_step(space, record, options);
    if (run.final_step.done) return run;
    REQUIRE_FALSE(run.final_step.to_time.empty());
    for (const Variant &variant : run.final_step.to_time) {
      record_timing(record, variant, seconds_of(variant), options.samples_per_variant);
      run.timed.push_back(variant);
    }
  }
  FAIL("the search did not finish in 100 steps");
  return run;
}

Variant with(Variant variant, const std::string &name, const std::string &value) {
  variant[name] = value;
  return variant;
}

}  // namespace

TEST_CASE("variant labels are sorted by name and parse back", "[tuner_search]") {
  const Variant variant{{"unroll", "2"}, {"threads", "4"}};
  CHECK(variant_label(variant) == "threads=4,unroll=2");
  CHECK(parse_variant_label("threads=4,unroll=2") == variant);
  CHECK(parse_variant_label("") == Variant{});
  CHECK_FALSE(parse_variant_label("threads").has_value());
  CHECK_FALSE(parse_variant_label("=4").has_value());
  CHECK_FALSE(parse_variant_label("threads=4=5").has_value());
  CHECK_FALSE(parse_variant_label("threads=4,threads=5").has_value());
  CHECK_FALSE(parse_variant_label("threads=4,").has_value());
}

TEST_CASE("a space lists its points with the last parameter turning fastest", "[tuner_search]") {
  const TuningSpace space{{{"a", {"x", "y"}, "x"}, {"b", {"1", "2", "3"}, "1"}}};
  CHECK(space.size() == 6);
  const std::vector<Variant> points = space.all_variants();
  REQUIRE(points.size() == 6);
  CHECK(variant_label(points[0]) == "a=x,b=1");
  CHECK(variant_label(points[2]) == "a=x,b=3");
  CHECK(variant_label(points[3]) == "a=y,b=1");
  CHECK(variant_label(points[5]) == "a=y,b=3");
  CHECK(space.default_variant() == Variant{{"a", "x"}, {"b", "1"}});
  CHECK(space.contains({{"a", "y"}, {"b", "3"}}));
  CHECK_FALSE(space.contains({{"a", "z"}, {"b", "3"}}));
  CHECK_FALSE(space.contains({{"a", "y"}}));
  CHECK_FALSE(space.contains({{"a", "y"}, {"b", "3"}, {"c", "1"}}));
}

TEST_CASE("coordinate descent walks the parameters in order, keeping each winner", "[tuner_search]") {
  const TuningSpace space = three_parameter_space();
  const SearchOptions options;
  const Variant start = space.default_variant();
  TuningRecord record;

  SearchStep step = next_search_step(space, record, options);
  CHECK_FALSE(step.done);
  CHECK(step.reason == "parameter threads");
  CHECK(step.best == start);
  REQUIRE(step.to_time.size() == 3);
  CHECK(step.to_time[0] == with(start, "threads", "1"));
  CHECK(step.to_time[1] == with(start, "threads", "2"));
  CHECK(step.to_time[2] == with(start, "threads", "4"));

  // Two samples of three are not enough to compare.
  record_timing(record, with(start, "threads", "1"), 1.0);
  record_timing(record, with(start, "threads", "2"), 0.6);
  record_timing(record, with(start, "threads", "4"), 0.5, 2);
  step = next_search_step(space, record, options);
  CHECK(step.reason == "parameter threads");
  REQUIRE(step.to_time.size() == 1);
  CHECK(step.to_time[0] == with(start, "threads", "4"));

  record.variants.clear();
  record_timing(record, with(start, "threads", "1"), 1.0);
  record_timing(record, with(start, "threads", "2"), 0.6);
  record_timing(record, with(start, "threads", "4"), 0.5);
  step = next_search_step(space, record, options);
  const Variant four_threads = with(start, "threads", "4");
  CHECK_FALSE(step.done);
  CHECK(step.reason == "parameter tile");
  CHECK(step.best == four_threads);
  // tile=32 with 4 threads is already timed.
  REQUIRE(step.to_time.size() == 2);
  CHECK(step.to_time[0] == with(four_threads, "tile", "16"));
  CHECK(step.to_time[1] == with(four_threads, "tile", "64"));

  record_timing(record, with(four_threads, "tile", "16"), 0.4);
  record_timing(record, with(four_threads, "tile", "64"), 0.55);
  step = next_search_step(space, record, options);
  const Variant small_tiles = with(four_threads, "tile", "16");
  CHECK(step.reason == "parameter unroll");
  CHECK(step.best == small_tiles);
  REQUIRE(step.to_time.size() == 1);
  CHECK(step.to_time[0] == with(small_tiles, "unroll", "2"));

  record_timing(record, with(small_tiles, "unroll", "2"), 0.3);
  step = next_search_step(space, record, options);
  const Variant winner = with(small_tiles, "unroll", "2");
  // The first pass changed the variant: a second pass from the winner.
  CHECK_FALSE(step.done);
  CHECK(step.reason == "parameter threads");
  CHECK(step.best == winner);
  REQUIRE(step.to_time.size() == 2);
  CHECK(step.to_time[0] == with(winner, "threads", "1"));
  CHECK(step.to_time[1] == with(winner, "threads", "2"));

  // Slower elsewhere: the second pass keeps the winner, which is then timed
  // again beside the default before it is chosen.
  const SearchRun rest = run_search(space, options, [&](const Variant &variant) {
    return variant == winner ? 0.3 : variant == start ? 1.0 : 0.45;
  }, record);
  CHECK(rest.final_step.done);
  CHECK(rest.final_step.reason == "search complete");
  CHECK(rest.final_step.best == winner);
  REQUIRE(rest.timed.size() >= 2);
  CHECK(std::set<Variant>(rest.timed.end() - 2, rest.timed.end()) == std::set<Variant>{start, winner});
}

TEST_CASE("a winner that does not beat the default when timed again is dropped", "[tuner_search]") {
  const TuningSpace space{{{"threads", {"1", "2"}, "1"}}};
  const SearchOptions options;
  TuningRecord record;
  record_timing(record, {{"threads", "1"}}, 1.00);
  record_timing(record, {{"threads", "2"}}, 0.50);  // a lucky first measurement
  SearchStep step = next_search_step(space, record, options);
  CHECK_FALSE(step.done);
  CHECK(step.reason == "confirming the winner against the default");
  CHECK(step.to_time.size() == 2);
  record_timing(record, {{"threads", "1"}}, 1.00);
  record_timing(record, {{"threads", "2"}}, 1.10);  // the median of all six samples is now 1.1 (record_timing keeps the last value as the median)
  step = next_search_step(space, record, options);
  CHECK(step.done);
  CHECK(step.best == Variant{{"threads", "1"}});
  CHECK(step.reason.find("default") != std::string::npos);
}

TEST_CASE("a rival only 1% faster does not replace the default", "[tuner_search]") {
  const TuningSpace space{{{"threads", {"1", "2"}, "1"}}};
  const SearchOptions options;  // min_improvement 2%
  TuningRecord record;
  record_timing(record, {{"threads", "1"}}, 1.00);
  record_timing(record, {{"threads", "2"}}, 0.99);
  SearchStep step = next_search_step(space, record, options);
  CHECK(step.done);
  CHECK(step.best == Variant{{"threads", "1"}});

  // 5% faster is beyond the margin (and stays so when timed again).
  record.variants.clear();
  record_timing(record, {{"threads", "1"}}, 1.00, 6);
  record_timing(record, {{"threads", "2"}}, 0.95, 6);
  step = next_search_step(space, record, options);
  CHECK(step.done);
  CHECK(step.best == Variant{{"threads", "2"}});
}

TEST_CASE("a variant with an error is never chosen", "[tuner_search]") {
  const TuningSpace space{{{"threads", {"1", "2", "4"}, "1"}}};
  const SearchOptions options;

  SECTION("the fastest rival failed once") {
    TuningRecord record;
    record_timing(record, {{"threads", "1"}}, 1.0, 6);
    record_timing(record, {{"threads", "2"}}, 0.8, 6);
    record_timing(record, {{"threads", "4"}}, 0.1, 3, 1);
    const SearchStep step = next_search_step(space, record, options);
    CHECK(step.done);
    CHECK(step.best == Variant{{"threads", "2"}});
    CHECK(best_measured(space, record, 3) == Variant{{"threads", "2"}});
  }
  SECTION("a failing variant counts as timed, and a failing default loses to any working rival") {
    TuningRecord record;
    record_timing(record, {{"threads", "1"}}, 0, 0, 1);  // no samples, one error
    record_timing(record, {{"threads", "2"}}, 0.99, 6);
    record_timing(record, {{"threads", "4"}}, 1.2);
    const SearchStep step = next_search_step(space, record, options);
    CHECK(step.done);
    CHECK(step.best == Variant{{"threads", "2"}});
  }
}

TEST_CASE("the exhaustive search times every point and finds the global best", "[tuner_search]") {
  const TuningSpace space{{{"a", {"x", "y"}, "x"}, {"b", {"1", "2", "3"}, "1"}}};
  // Not separable: the best point is only found by trying y and 3 together.
  const std::map<std::string, double> seconds{{"a=x,b=1", 1.0}, {"a=x,b=2", 0.9}, {"a=x,b=3", 0.95},
                                              {"a=y,b=1", 1.2}, {"a=y,b=2", 1.1}, {"a=y,b=3", 0.2}};
  auto seconds_of = [&](const Variant &variant) { return seconds.at(variant_label(variant)); };

  SearchOptions exhaustive;
  exhaustive.kind = SearchKind::kExhaustive;
  CHECK(next_search_step(space, TuningRecord{}, exhaustive).to_time.size() == 6);
  const SearchRun everything = run_search(space, exhaustive, seconds_of);
  CHECK(everything.final_step.done);
  CHECK(everything.timed.size() == 6);
  CHECK(variant_label(everything.final_step.best) == "a=y,b=3");

  // Coordinates: a (x, y), then b (1, 2, 3) with a=x; a second pass from b=2
  // finds a=y,b=2 slower; then x,2 and the default are timed again.
  const SearchRun coordinates = run_search(space, SearchOptions{}, seconds_of);
  CHECK(coordinates.timed.size() == 4 + 1 + 2);
  CHECK(variant_label(coordinates.final_step.best) == "a=x,b=2");

  // Only the points still missing are asked for.
  TuningRecord record;
  record_timing(record, {{"a", "x"}, {"b", "1"}}, 1.0);
  record_timing(record, {{"a", "y"}, {"b", "2"}}, 1.1);
  const SearchStep step = next_search_step(space, record, exhaustive);
  CHECK_FALSE(step.done);
  CHECK(step.to_time.size() == 4);
  CHECK(std::find(step.to_time.begin(), step.to_time.end(), Variant{{"a", "y"}, {"b", "2"}}) == step.to_time.end());
}

TEST_CASE("a choice in the record ends the search at once", "[tuner_search]") {
  const TuningSpace space = three_parameter_space();
  TuningRecord record;
  record.choice = Choice{"threads=2,tile=64,unroll=2", "2026-01-01T00:00:00Z", 12, "search complete"};
  SearchStep step = next_search_step(space, record, SearchOptions{});
  CHECK(step.done);
  CHECK(step.reason == "chosen earlier");
  CHECK(variant_label(step.best) == "threads=2,tile=64,unroll=2");

  // A choice the space no longer offers is searched again.
  record.choice->label = "threads=8,tile=64,unroll=2";
  step = next_search_step(space, record, SearchOptions{});
  CHECK_FALSE(step.done);
  CHECK(step.reason == "parameter threads");
}

TEST_CASE("best_measured needs enough samples and otherwise keeps the default", "[tuner_search]") {
  const TuningSpace space = three_parameter_space();
  TuningRecord record;
  record_timing(record, with(space.default_variant(), "threads", "4"), 0.1, 2);
  CHECK(best_measured(space, record, 3) == space.default_variant());
  CHECK(best_measured(space, record, 2) == with(space.default_variant(), "threads", "4"));

  // A variant outside the space is not an answer.
  record_timing(record, {{"threads", "64"}, {"tile", "32"}, {"unroll", "1"}}, 0.01);
  CHECK(best_measured(space, record, 2) == with(space.default_variant(), "threads", "4"));
}

TEST_CASE("a coordinate search times 1 + sum(|values| - 1) variants per pass, and confirms", "[tuner_search]") {
  const TuningSpace space{{{"p0", {"0", "1", "2"}, "0"},
                           {"p1", {"0", "1", "2", "3"}, "0"},
                           {"p2", {"0", "1"}, "0"},
                           {"p3", {"0", "1", "2", "3", "4"}, "0"}}};
  // Every later value of every parameter is 10% faster: each parameter's
  // winner is its last value, found in order.
  auto seconds_of = [](const Variant &variant) {
    double seconds = 1.0;
    for (const auto &[name, value] : variant) {
      for (int i = 0; i < std::stoi(value); ++i) seconds *= 0.9;
    }
    return seconds;
  };
  const SearchRun run = run_search(space, SearchOptions{}, seconds_of);
  CHECK(run.final_step.done);
  // First pass: 1 + 2 + 3 + 1 + 4; second pass from the winner: the other
  // values of p0, p1 and p2 (those of p3, the last, were timed beside the
  // winner already): 2 + 3 + 1; then the default and the winner again.
  CHECK(run.timed.size() == (1 + 2 + 3 + 1 + 4) + (2 + 3 + 1) + 2);
  const std::vector<Variant> searched(run.timed.begin(), run.timed.end() - 2);
  CHECK(std::set<Variant>(searched.begin(), searched.end()).size() == searched.size());  // none twice before confirming
  CHECK(variant_label(run.final_step.best) == "p0=2,p1=3,p2=1,p3=4");
}

}  // namespace sejits::tuner
