// "variant.<name>" request params: how a request selects a code variant.
// Parsing shared by the specializers' plans (elementwise/plan, stencil/plan),
// and the thread-count choice both offer.
#pragma once

#include <cstdint>
#include <map>
#include <string>

#include "absl/status/statusor.h"
#include "codegen/target_ast.h"
#include "tuner-db/variant.h"

namespace sejits::specializers {

inline constexpr char kVariantPrefix[] = "variant.";

inline bool is_variant_param(const std::string &name) { return name.rfind(kVariantPrefix, 0) == 0; }
inline std::string variant_param(const std::string &name) { return kVariantPrefix + name; }

// The "variant.<name>" params that select `variant` of `space`, those at
// their default left out (the default variant is the plain request).
std::map<std::string, std::string> default_variant_request_params(const tuner::TuningSpace &space,
                                                                  const tuner::Variant &variant);

// INVALID_ARGUMENT: "<specializer> variant <name>=<value>: expected <expected>".
absl::Status bad_variant_value(const std::string &specializer, const std::string &name, const std::string &value,
                               const std::string &expected);
absl::StatusOr<bool> parse_variant_flag(const std::string &specializer, const std::string &name, const std::string &value);
absl::StatusOr<int64_t> parse_variant_int(const std::string &specializer, const std::string &name, const std::string &value,
                                          int64_t min, int64_t max);

// How many threads a kernel's parallel loops use.
enum class ThreadCount { kAll, kHalf, kOne };
absl::StatusOr<ThreadCount> parse_thread_count(const std::string &specializer, const std::string &name,
                                               const std::string &value);
// The value that selects it: "all", "half" or "1".
const char *thread_count_name(ThreadCount threads);
// `const int nthreads = ...`: the team size the parallel loops ask for.
codegen::StmtPtr declare_thread_count(ThreadCount threads);
inline constexpr char kThreadCountVar[] = "nthreads";

}  // namespace sejits::specializers
