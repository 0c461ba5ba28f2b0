// Loop nests over different points that still share one pass over memory:
// consecutive nests whose dependences all stay within one row of the
// arrays they share run as a band, row by row. F1's interior update
// (v[1:-1, 1:-1] += ...) and its whole-grid pass (energy, clip) are one:
// each row of v is clipped and summed right after it is updated, while it
// is still in cache.
#pragma once

#include <string>
#include <vector>

#include "specializers/fuse/ir.h"

namespace sejits::specializers::fuse {

// Sets ir.row_offsets for each nest (after ir.nests and ir.riders are
// known) that can join the band of the nest before it; each decision, and
// why a nest could not join, is appended to `notes`.
void band_rows(FuseIr &ir, std::vector<std::string> &notes);

// How many passes over memory the nests make: one per band of arrays, and
// one per 0-D nest whose reductions no pass before carries.
int passes_over_memory(const FuseIr &ir);

}  // namespace sejits::specializers::fuse
