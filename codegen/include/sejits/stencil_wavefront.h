// The shape of a stencil's `iterate` wavefront (see
// specializers/stencil/temporal.h): how many sweeps advance together, and how
// many work items make a block, from the cache the process can count on.
// Included by kernel_runtime.h, and by the unit tests.
#ifndef SEJITS_STENCIL_WAVEFRONT_H
#define SEJITS_STENCIL_WAVEFRONT_H

#include <stdint.h>

// The most sweeps a wavefront advances at once (the variant's limit too).
#define SEJITS_WAVEFRONT_MAX_DEPTH 1024

// Items per block at `depth`: at least `min_items` (the stencil's reach, and
// enough points per item), and enough items in a wave (depth x block) for
// each of `threads` to have one. Items of a wave are equal work, so one per
// thread balances them; two would only double the live blocks.
static inline int64_t sejits_wavefront_block_items(int64_t depth, int64_t min_items, int64_t threads) {
  if (depth < 1) depth = 1;
  int64_t for_threads = (threads + depth - 1) / depth;
  return min_items > for_threads ? min_items : for_threads;
}

// The bytes a wavefront of `depth` keeps live: both buffers hold about 2 x
// depth blocks around it (a block is written, then read by the next sweep over
// the next three waves).
static inline int64_t sejits_wavefront_live_bytes(int64_t depth, int64_t item_bytes, int64_t min_items, int64_t threads) {
  return 4 * depth * sejits_wavefront_block_items(depth, min_items, threads) * item_bytes;
}

// The deepest wavefront, up to `steps`, whose live blocks fit in half of
// `cache_bytes` (the rest: the grid streaming in, the output streaming out,
// what else runs); at least 2 sweeps (1 when steps is 1).
static inline int64_t sejits_wavefront_depth(int64_t cache_bytes, int64_t item_bytes, int64_t min_items, int64_t threads,
                                             int64_t steps) {
  int64_t limit = steps < SEJITS_WAVEFRONT_MAX_DEPTH ? steps : SEJITS_WAVEFRONT_MAX_DEPTH;
  int64_t chosen = limit < 2 ? limit : 2;
  for (int64_t depth = 3; depth <= limit; ++depth) {
    // Blocks never get smaller than min_items: past this depth nothing fits.
    if (4 * depth * min_items * item_bytes > cache_bytes / 2) break;
    if (sejits_wavefront_live_bytes(depth, item_bytes, min_items, threads) <= cache_bytes / 2) chosen = depth;
  }
  return chosen < 1 ? 1 : chosen;
}

#endif  // SEJITS_STENCIL_WAVEFRONT_H
