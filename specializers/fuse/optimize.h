// Domain optimizations of the fusion IR. Element-wise producers are fused
// into their stores by the front end (values stay lazy); here consecutive
// stores over the same points share one loop nest, where what one writes
// does not change what another reads.
#pragma once

#include <string>
#include <vector>

#include "specializers/fuse/ir.h"

namespace sejits::specializers::fuse {

// Groups ir.writes into ir.nests; each decision (and why a store starts a
// new nest) is appended to `notes`.
void fuse_stores(FuseIr &ir, std::vector<std::string> &notes);

// Within a nest, a store's value that reads an element an earlier store of
// the nest writes (at the same point) reads the stored value instead: the
// nest computes every value before its stores.
void forward_stored_values(FuseIr &ir);

// Equal subexpressions of one loop nest's stores (and of each reduction's
// body) become one node, computed once per point.
void merge_common_subexpressions(FuseIr &ir);

}  // namespace sejits::specializers::fuse
