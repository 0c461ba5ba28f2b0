// How much cache a kernel can count on keeping its data in between passes
// over it: this process's share of the last-level caches of the CPUs it may
// run on. Included by kernel_runtime.h (sejits_cache_bytes), and by the unit
// tests, which give the rule machines this one is not.
//
// A last-level cache (L3, else L2) is shared by every core of its die or
// socket and, in a virtual machine, by other tenants' vCPUs that the guest
// cannot see: a 2-vCPU VM reports a 32 MiB (AMD EPYC) or 480 MiB (Intel Xeon)
// L3 as shared by its own two vCPUs alone. The share of one cache domain (the
// CPUs of one shared_cpu_list) is its size x the CPUs of the domain this
// process may run on / the CPUs sharing it, and never more than
// SEJITS_CACHE_PER_CPU_CAP per CPU this process may run on.
#ifndef SEJITS_CACHE_SHARE_H
#define SEJITS_CACHE_SHARE_H

#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

// What a core of today's server processors has of its L3: 1.4-1.9 MiB on
// Intel Xeon from Skylake-SP to Sapphire Rapids, about 4 MiB on Granite Rapids
// and on AMD EPYC's CCXs (32 MiB per 8 cores). A larger share per CPU means the
// reported topology hides the cache's other users, so none is counted on.
#define SEJITS_CACHE_PER_CPU_CAP ((int64_t)4 << 20)
// When the machine says nothing about its caches (per CPU this process may use).
#define SEJITS_CACHE_UNKNOWN_PER_CPU ((int64_t)2 << 20)
#define SEJITS_CACHE_MAX_DOMAINS 64
#define SEJITS_CACHE_MAX_CPUS CPU_SETSIZE

// One last-level cache, as this process sees it.
struct sejits_cache_domain {
  int64_t bytes;         // its size
  int64_t sharing_cpus;  // the CPUs that share it (its shared_cpu_list)
  int64_t usable_cpus;   // of those, the ones this process may run on
};

// The rule: the sum of each domain's share, each capped per usable CPU.
static inline int64_t sejits_cache_share_bytes(const struct sejits_cache_domain *domains, int count) {
  int64_t total = 0;
  for (int k = 0; k < count; ++k) {
    const struct sejits_cache_domain *domain = &domains[k];
    if (domain->bytes <= 0 || domain->usable_cpus <= 0) continue;
    int64_t sharing = domain->sharing_cpus > domain->usable_cpus ? domain->sharing_cpus : domain->usable_cpus;
    int64_t share = domain->bytes / sharing * domain->usable_cpus;
    int64_t cap = SEJITS_CACHE_PER_CPU_CAP * domain->usable_cpus;
    total += share < cap ? share : cap;
  }
  return total;
}

// Marks the CPUs of a sysfs CPU list ("0-3,8,10-11") in `cpus` (one byte per
// CPU, SEJITS_CACHE_MAX_CPUS of them); returns how many it names, -1 if it is
// not a CPU list.
static inline int64_t sejits_parse_cpu_list(const char *text, unsigned char *cpus) {
  int64_t named = 0;
  const char *p = text;
  while (*p && *p != '\n') {
    char *end;
    long first = strtol(p, &end, 10);
    if (end == p || first < 0) return -1;
    long last = first;
    p = end;
    if (*p == '-') {
      last = strtol(p + 1, &end, 10);
      if (end == p + 1 || last < first) return -1;
      p = end;
    }
    for (long cpu = first; cpu <= last && cpu < SEJITS_CACHE_MAX_CPUS; ++cpu) {
      if (!cpus[cpu]) ++named;
      cpus[cpu] = 1;
    }
    if (*p == ',') ++p;
    else if (*p && *p != '\n') return -1;
  }
  return named;
}

// The first line of a small file, without its newline; false if unreadable.
static inline bool sejits_read_line(const char *path, char *line, int size) {
  FILE *file = fopen(path, "r");
  if (!file) return false;
  bool read = fgets(line, size, file) != NULL;
  fclose(file);
  if (!read) return false;
  line[strcspn(line, "\n")] = 0;
  return true;
}

// A cache size as sysfs writes it ("32768K", "512"), or a person ("16m", "1G"):
// bytes, 0 if unreadable.
static inline int64_t sejits_parse_cache_size(const char *text) {
  char *end;
  long long value = strtoll(text, &end, 10);
  if (end == text || value <= 0) return 0;
  if (*end == 'K' || *end == 'k') return (int64_t)value << 10;
  if (*end == 'M' || *end == 'm') return (int64_t)value << 20;
  if (*end == 'G' || *end == 'g') return (int64_t)value << 30;
  return (int64_t)value;
}

// The last-level cache of `cpu` under `cpu_root` (a directory laid out as
// /sys/devices/system/cpu): its size and shared_cpu_list; false if sysfs
// describes no data cache for it.
static inline bool sejits_read_last_level_cache(const char *cpu_root, int cpu, int64_t *bytes, char *shared, int shared_size) {
  int best_level = 0;
  for (int index = 0; index < 16; ++index) {
    char path[512], level[32], type[32], size[32], list[4096];
    snprintf(path, sizeof path, "%s/cpu%d/cache/index%d/level", cpu_root, cpu, index);
    if (!sejits_read_line(path, level, sizeof level)) break;
    snprintf(path, sizeof path, "%s/cpu%d/cache/index%d/type", cpu_root, cpu, index);
    if (!sejits_read_line(path, type, sizeof type) || strcmp(type, "Instruction") == 0) continue;
    snprintf(path, sizeof path, "%s/cpu%d/cache/index%d/size", cpu_root, cpu, index);
    if (!sejits_read_line(path, size, sizeof size)) continue;
    snprintf(path, sizeof path, "%s/cpu%d/cache/index%d/shared_cpu_list", cpu_root, cpu, index);
    if (!sejits_read_line(path, list, sizeof list)) continue;
    int this_level = atoi(level);
    int64_t this_bytes = sejits_parse_cache_size(size);
    if (this_level > best_level && this_bytes > 0) {
      best_level = this_level;
      *bytes = this_bytes;
      snprintf(shared, (size_t)shared_size, "%s", list);
    }
  }
  return best_level > 0;
}

// The last-level cache domains of the CPUs marked in `usable` (one byte per
// CPU, SEJITS_CACHE_MAX_CPUS of them), read under `cpu_root`; returns how many
// it wrote to `domains` (at most `capacity`), -1 if sysfs does not describe
// every usable CPU's cache (then the caller falls back to sysconf).
static inline int sejits_read_cache_domains(const char *cpu_root, const unsigned char *usable,
                                            struct sejits_cache_domain *domains, int capacity) {
  unsigned char counted[SEJITS_CACHE_MAX_CPUS];  // CPUs whose domain is already in `domains`
  memset(counted, 0, sizeof counted);
  int count = 0;
  for (int cpu = 0; cpu < SEJITS_CACHE_MAX_CPUS; ++cpu) {
    if (!usable[cpu] || counted[cpu]) continue;
    int64_t bytes = 0;
    char shared[4096];
    if (!sejits_read_last_level_cache(cpu_root, cpu, &bytes, shared, sizeof shared)) return -1;
    unsigned char members[SEJITS_CACHE_MAX_CPUS];
    memset(members, 0, sizeof members);
    int64_t sharing = sejits_parse_cpu_list(shared, members);
    if (sharing < 1 || !members[cpu]) return -1;
    int64_t usable_members = 0;
    for (int other = 0; other < SEJITS_CACHE_MAX_CPUS; ++other) {
      if (!members[other]) continue;
      if (usable[other]) ++usable_members;
      counted[other] = 1;
    }
    if (count == capacity) return -1;
    domains[count].bytes = bytes;
    domains[count].sharing_cpus = sharing;
    domains[count].usable_cpus = usable_members;
    ++count;
  }
  return count;
}

// The cache this process can count on, from the machine: sysfs and the
// affinity mask, else the C library's L3 (or L2) size, else a guess per CPU.
static inline int64_t sejits_measure_cache_share(const char *cpu_root) {
  unsigned char usable[SEJITS_CACHE_MAX_CPUS];
  memset(usable, 0, sizeof usable);
  int64_t cpus = 0;
  cpu_set_t mask;
  if (sched_getaffinity(0, sizeof mask, &mask) == 0) {
    for (int cpu = 0; cpu < SEJITS_CACHE_MAX_CPUS; ++cpu) {
      if (CPU_ISSET(cpu, &mask)) usable[cpu] = 1, ++cpus;
    }
  }
  if (cpus == 0) {
    long online = sysconf(_SC_NPROCESSORS_ONLN);
    cpus = online > 0 ? online : 1;
  } else {
    struct sejits_cache_domain domains[SEJITS_CACHE_MAX_DOMAINS];
    int count = sejits_read_cache_domains(cpu_root, usable, domains, SEJITS_CACHE_MAX_DOMAINS);
    if (count > 0) return sejits_cache_share_bytes(domains, count);
  }
  // No topology: the whole cache counts as shared by the CPUs this process may use.
  long size = -1;
#if defined(_SC_LEVEL3_CACHE_SIZE)
  size = sysconf(_SC_LEVEL3_CACHE_SIZE);
  if (size <= 0) size = sysconf(_SC_LEVEL2_CACHE_SIZE);
#endif
  if (size <= 0) return SEJITS_CACHE_UNKNOWN_PER_CPU * cpus;
  struct sejits_cache_domain whole = {(int64_t)size, cpus, cpus};
  return sejits_cache_share_bytes(&whole, 1);
}

// sejits_measure_cache_share once per process (per kernel library), unless
// SEJITS_CACHE_BYTES names the figure (a machine the rule misjudges; tests).
static inline int64_t sejits_usable_cache_bytes(void) {
  static int64_t known = 0;  // 0: not yet measured; racing first calls agree
  int64_t bytes = __atomic_load_n(&known, __ATOMIC_RELAXED);
  if (bytes > 0) return bytes;
  const char *given = getenv("SEJITS_CACHE_BYTES");
  bytes = given ? sejits_parse_cache_size(given) : 0;
  if (bytes <= 0) bytes = sejits_measure_cache_share("/sys/devices/system/cpu");
  if (bytes <= 0) bytes = SEJITS_CACHE_UNKNOWN_PER_CPU;
  __atomic_store_n(&known, bytes, __ATOMIC_RELAXED);
  return bytes;
}

#endif  // SEJITS_CACHE_SHARE_H
