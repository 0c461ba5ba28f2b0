// Domain optimizations of the fusion IR. Element-wise producers are fused
// into their stores by the front end (values stay lazy); here consecutive
// stores over the same points share one loop nest, where what one writes
// does not change what another reads.
#pragma once

#include <set>
#include <string>
#include <vector>

#include "specializers/fuse/ir.h"

namespace sejits::specializers::fuse {

// The storages (FuseIr::storage) `value` reads, its reductions' included.
void add_storages_read(const FuseIr &ir, const NodeRef &value, std::set<int> &storages);

// Removes the stores into local arrays that nothing reads afterwards (nor
// returns): a buffer written and then dropped. Each is named in `notes`.
void eliminate_dead_stores(FuseIr &ir, std::vector<std::string> &notes);

// Groups ir.writes into ir.nests; each decision (and why a store starts a
// new nest) is appended to `notes`.
void fuse_stores(FuseIr &ir, std::vector<std::string> &notes);

// Within a nest, a store's value that reads an element an earlier store of
// the nest writes (at the same point) reads the stored value instead: the
// nest computes every value before its stores.
void forward_stored_values(FuseIr &ir);

// Constant subexpressions computed once, when compiling (NumPy's casts of
// constants included: x ** 2 then takes NumPy's square path).
void fold_constant_values(FuseIr &ir);

// Equal subexpressions of one loop nest's stores (and of each reduction's
// body) become one node, computed once per point.
void merge_common_subexpressions(FuseIr &ir);

}  // namespace sejits::specializers::fuse
