/* How a machine describes its CPU to a compile server (sejits.v1.WorkerPlatform):
 * the rules the daemon uses for its own machine (codegen/host_platform.cc) and
 * the Python client uses for the machine its kernels run on
 * (sejits/_worker_platform.py, through sejits._native), defined once so that
 * equal descriptions mean the same CPU.
 *
 * - The CPU's features line is the first /proc/cpuinfo line that starts with
 *   "flags" (x86) or "Features" (arm64): sejits_is_cpu_features_line.
 * - cpu_digest is the SHA-256 (hex) of that line without its newline ("" when
 *   there is none).
 * - isa_level (x86-64 only) is the highest x86-64 psABI micro-architecture level
 *   whose features all appear on that line: sejits_x86_64_isa_level.
 *
 * Plain C, header only, so that the daemon and the Python extension both
 * include it. Not part of the kernel ABI: generated code never includes it. */
#ifndef SEJITS_WORKER_PLATFORM_H
#define SEJITS_WORKER_PLATFORM_H

#include <string.h>

/* The level every x86-64 CPU has. */
#define SEJITS_X86_64_BASELINE "x86-64"

/* The psABI levels above the baseline, in order (x86-64-psABI,
 * "Micro-architecture levels"): X(name, its features in /proc/cpuinfo's names,
 * separated by single spaces). A level needs its own features and every lower
 * level's. */
#define SEJITS_X86_64_LEVELS(X)                                          \
  X("x86-64-v2", "cx16 lahf_lm popcnt sse4_1 sse4_2 ssse3")              \
  X("x86-64-v3", "avx avx2 bmi1 bmi2 f16c fma abm movbe xsave")          \
  X("x86-64-v4", "avx512f avx512bw avx512cd avx512dq avx512vl")

static inline int sejits_is_cpu_features_line(const char *line) {
  return strncmp(line, "flags", 5) == 0 || strncmp(line, "Features", 8) == 0;
}

static inline int sejits_is_feature_separator(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}

/* Whether `feature` (length `length`) is one of the separated words of `features`. */
static inline int sejits_has_cpu_feature(const char *features, const char *feature, size_t length) {
  const char *word = features;
  for (;;) {
    while (*word && sejits_is_feature_separator(*word)) ++word;
    if (!*word) return 0;
    const char *end = word;
    while (*end && !sejits_is_feature_separator(*end)) ++end;
    if ((size_t)(end - word) == length && strncmp(word, feature, length) == 0) return 1;
    word = end;
  }
}

/* Whether every word of `required` (separated by single spaces) is a feature. */
static inline int sejits_has_cpu_features(const char *features, const char *required) {
  while (*required) {
    const char *end = strchr(required, ' ');
    size_t length = end ? (size_t)(end - required) : strlen(required);
    if (!sejits_has_cpu_feature(features, required, length)) return 0;
    required += length + (end ? 1 : 0);
  }
  return 1;
}

/* The highest x86-64 level whose features all appear on `features_line` (the
 * words after its first ':', or all of it when there is no ':'). */
static inline const char *sejits_x86_64_isa_level(const char *features_line) {
  const char *colon = strchr(features_line, ':');
  const char *features = colon ? colon + 1 : features_line;
  const char *level = SEJITS_X86_64_BASELINE;
#define SEJITS_X86_64_LEVEL_CHECK(NAME, REQUIRED)               \
  if (!sejits_has_cpu_features(features, REQUIRED)) return level; \
  level = NAME;
  SEJITS_X86_64_LEVELS(SEJITS_X86_64_LEVEL_CHECK)
#undef SEJITS_X86_64_LEVEL_CHECK
  return level;
}

/* Whether `name` is a level of the table (the baseline included). */
static inline int sejits_is_x86_64_level(const char *name) {
  if (strcmp(name, SEJITS_X86_64_BASELINE) == 0) return 1;
#define SEJITS_X86_64_LEVEL_MATCH(NAME, REQUIRED) \
  if (strcmp(name, NAME) == 0) return 1;
  SEJITS_X86_64_LEVELS(SEJITS_X86_64_LEVEL_MATCH)
#undef SEJITS_X86_64_LEVEL_MATCH
  return 0;
}

#endif /* SEJITS_WORKER_PLATFORM_H */
