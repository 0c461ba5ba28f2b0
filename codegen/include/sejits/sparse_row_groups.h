/* Rows in groups of eight, for the powers kernel's levels past the first
 * (sejits/sparse_runtime.h). Level 1, which reads A's rows from memory,
 * copies each row it computes into a ring of groups laid out entry by entry
 * (a SELL-8 slice: entry q of the group's eight rows side by side). The
 * later levels, which read those rows again while the cache holds them, sum
 * a whole group at once, one vector lane per row. Each lane adds its row's
 * entries in their stored order, from zero, a multiply then an add: the
 * same bits as row_sum. Where the eight rows' q-th columns are consecutive
 * (a stencil's or a banded matrix's rows), their values are one vector
 * load; otherwise a gather.
 *
 * Built for float64 values where the compiler targets AVX-512 (eight
 * doubles to a vector) or AVX2 (two vectors of four); elsewhere
 * groups_built() is false and every level goes row by row. */
#ifndef SEJITS_SPARSE_ROW_GROUPS_H
#define SEJITS_SPARSE_ROW_GROUPS_H

#include <stdint.h>

#include <algorithm>
#include <memory>
#include <new>
#include <type_traits>

#if defined(__AVX512F__) && defined(__AVX512VL__)
#include <immintrin.h>
#define SEJITS_SPARSE_ROW_GROUPS 512
#elif defined(__AVX2__)
#include <immintrin.h>
#define SEJITS_SPARSE_ROW_GROUPS 256
#else
#define SEJITS_SPARSE_ROW_GROUPS 0
#endif

namespace sejits_sparse {

constexpr int64_t kGroupRows = 8;
/* Entries a group's rows may hold; a group with a longer row goes row by row. */
constexpr int32_t kGroupEntries = 8;
/* The ring's bytes per row: values and columns of kGroupEntries entries, and a length. */
constexpr int64_t kGroupBytesPerRow = kGroupEntries * (8 + 4) + 4;
/* A ring of more than this many times a thread's share of the cache is not
 * kept: its groups would be read back from memory, not from the cache, and
 * it would add memory in proportion to the rows' reach. */
constexpr int64_t kGroupRingCacheShares = 8;

template <typename T>
constexpr bool groups_built() {
  return SEJITS_SPARSE_ROW_GROUPS && std::is_same_v<T, double>;
}

/* The ring: group g (rows 8g .. 8g+7) in slot g & mask. */
template <typename T>
struct RowGroups {
  std::unique_ptr<T[]> values;         // [slot][q][lane]
  std::unique_ptr<int32_t[]> columns;  // [slot][q][lane]
  std::unique_ptr<int32_t[]> lengths;  // [slot][lane]
  std::unique_ptr<int32_t[]> longest;  // [slot]: the group's longest row (lanes are copied in order)
  int64_t mask = -1;                   // slots - 1; -1 while none are allocated

  int64_t rows() const { return (mask + 1) * kGroupRows; }
  int64_t slot_of(int64_t row) const { return (row / kGroupRows) & mask; }
  T *values_of(int64_t slot) const { return values.get() + slot * kGroupEntries * kGroupRows; }
  int32_t *columns_of(int64_t slot) const { return columns.get() + slot * kGroupEntries * kGroupRows; }
  int32_t *lengths_of(int64_t slot) const { return lengths.get() + slot * kGroupRows; }

  /* At least `rows` rows' worth of slots (a power of two), in at most
   * `most_bytes`; false if larger, or out of memory. */
  bool reserve(int64_t rows, int64_t most_bytes) {
    if (this->rows() >= rows) return true;
    int64_t slots = 1;
    while (slots * kGroupRows < rows) slots <<= 1;
    if (slots * kGroupRows * kGroupBytesPerRow > most_bytes) return false;
    try {
      values.reset(new T[(size_t)(slots * kGroupEntries * kGroupRows)]);
      columns.reset(new int32_t[(size_t)(slots * kGroupEntries * kGroupRows)]);
      lengths.reset(new int32_t[(size_t)(slots * kGroupRows)]);
      longest.reset(new int32_t[(size_t)slots]);
    } catch (const std::bad_alloc &) {
      mask = -1;
      return false;
    }
    mask = slots - 1;
    return true;
  }
};

/* One row into its group's slot, entry by entry. */
template <typename Matrix, typename T>
void copy_row(const Matrix &a, int64_t row, RowGroups<T> &groups) {
  const int64_t slot = groups.slot_of(row), lane = row % kGroupRows, first = a.indptr[row];
  const int32_t length = (int32_t)std::min<int64_t>((int64_t)a.indptr[row + 1] - first, kGroupEntries + 1);
  groups.lengths_of(slot)[lane] = length;
  groups.longest[slot] = lane == 0 ? length : std::max(groups.longest[slot], length);
  if (length > kGroupEntries) return;
  T *values = groups.values_of(slot) + lane;
  int32_t *columns = groups.columns_of(slot) + lane;
  for (int32_t q = 0; q < length; ++q) {
    values[q * kGroupRows] = a.data[first + q];
    columns[q * kGroupRows] = (int32_t)a.indices[first + q];
  }
}

/* Whether the eight rows from `indptr` on each hold `length` entries. */
template <typename Index>
bool same_lengths(const Index *indptr, int64_t length) {
  for (int64_t lane = 1; lane < kGroupRows; ++lane) {
    if ((int64_t)indptr[lane + 1] - (int64_t)indptr[lane] != length) return false;
  }
  return true;
}

/* Level 1's rows [begin, end) of `a` (a Csr) into their groups' slots. */
template <typename Matrix, typename T>
void copy_rows(const Matrix &a, int64_t begin, int64_t end, RowGroups<T> &groups) {
  int64_t row = begin;
  if constexpr (groups_built<T>()) {
#if SEJITS_SPARSE_ROW_GROUPS
    /* Whole groups whose rows hold the same number of entries (a stencil's
     * interior) are copied entry by entry with no per-row bookkeeping: 40%
     * less time than row by row (gathers were no faster than that). */
    for (; row < end && row % kGroupRows != 0; ++row) copy_row(a, row, groups);
    for (; row + kGroupRows <= end; row += kGroupRows) {
      const int64_t first = a.indptr[row], length = (int64_t)a.indptr[row + 1] - first;
      if (length < 1 || length > kGroupEntries || !same_lengths(a.indptr + row, length)) {
        for (int64_t lane = 0; lane < kGroupRows; ++lane) copy_row(a, row + lane, groups);
        continue;
      }
      const int64_t slot = groups.slot_of(row);
      _mm256_storeu_si256((__m256i *)groups.lengths_of(slot), _mm256_set1_epi32((int32_t)length));
      groups.longest[slot] = (int32_t)length;
      T *values = groups.values_of(slot);
      int32_t *columns = groups.columns_of(slot);
      const T *data = a.data + first;
      const auto *indices = a.indices + first;
      for (int64_t q = 0; q < length; ++q) {
#pragma GCC novector
        for (int64_t lane = 0; lane < kGroupRows; ++lane) {
          values[q * kGroupRows + lane] = data[lane * length + q];
          columns[q * kGroupRows + lane] = (int32_t)indices[lane * length + q];
        }
      }
    }
#endif
  }
  for (; row < end; ++row) copy_row(a, row, groups);
}

#if SEJITS_SPARSE_ROW_GROUPS
/* out[lane] = the sum of row `lane` of one group's slot (its entries'
 * values and columns, entry q of the eight rows side by side), over the
 * level below, `below` (row r in slot r & mask). Each lane adds its row's
 * entries in their order, from zero; lanes past their row's length add
 * nothing. Eight consecutive columns inside the ring are one load. */
static inline void group_sums(const double *values, const int32_t *columns, const int32_t *lengths, int32_t longest,
                              const double *below, int64_t mask, double *out) {
#if SEJITS_SPARSE_ROW_GROUPS == 512
  const __m256i lane_offsets = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
  const __m256i wrap = _mm256_set1_epi32((int32_t)mask);
  const __m256i row_lengths = _mm256_loadu_si256((const __m256i *)lengths);
  __m512d sums = _mm512_setzero_pd();
  for (int32_t q = 0; q < longest; ++q) {
    const __mmask8 live = _mm256_cmpgt_epi32_mask(row_lengths, _mm256_set1_epi32(q));
    const __m256i cols = _mm256_loadu_si256((const __m256i *)(columns + q * kGroupRows));
    const int32_t first = _mm_cvtsi128_si32(_mm256_castsi256_si128(cols));
    const int64_t at = first & mask;
    const bool consecutive = live == 0xFF && at + kGroupRows - 1 <= mask &&
                             _mm256_cmpeq_epi32_mask(cols, _mm256_add_epi32(_mm256_set1_epi32(first), lane_offsets)) == 0xFF;
    const __m512d xs = consecutive ? _mm512_loadu_pd(below + at)
                                   : _mm512_mask_i32gather_pd(_mm512_setzero_pd(), live, _mm256_and_si256(cols, wrap), below, 8);
    sums = _mm512_mask_add_pd(sums, live, sums, _mm512_mul_pd(_mm512_loadu_pd(values + q * kGroupRows), xs));
  }
  _mm512_store_pd(out, sums);
#else  // AVX2: two halves of four lanes, their sums two independent chains
  const __m128i lane_offsets = _mm_setr_epi32(0, 1, 2, 3);
  const __m128i wrap = _mm_set1_epi32((int32_t)mask);
  const __m256i row_lengths[2] = {_mm256_cvtepi32_epi64(_mm_loadu_si128((const __m128i *)lengths)),
                                  _mm256_cvtepi32_epi64(_mm_loadu_si128((const __m128i *)(lengths + 4)))};
  __m256d sums[2] = {_mm256_setzero_pd(), _mm256_setzero_pd()};
  for (int32_t q = 0; q < longest; ++q) {
    for (int half = 0; half < 2; ++half) {
      const __m256d live = _mm256_castsi256_pd(_mm256_cmpgt_epi64(row_lengths[half], _mm256_set1_epi64x(q)));
      const __m128i cols = _mm_loadu_si128((const __m128i *)(columns + q * kGroupRows + 4 * half));
      const int32_t first = _mm_cvtsi128_si32(cols);
      const int64_t at = first & mask;
      const bool consecutive = _mm256_movemask_pd(live) == 0xF && at + 3 <= mask &&
                               _mm_movemask_epi8(_mm_cmpeq_epi32(cols, _mm_add_epi32(_mm_set1_epi32(first), lane_offsets))) == 0xFFFF;
      const __m256d xs = consecutive ? _mm256_loadu_pd(below + at)
                                     : _mm256_mask_i32gather_pd(_mm256_setzero_pd(), below, _mm_and_si128(cols, wrap), live, 8);
      const __m256d terms = _mm256_mul_pd(_mm256_loadu_pd(values + q * kGroupRows + 4 * half), xs);
      sums[half] = _mm256_blendv_pd(sums[half], _mm256_add_pd(sums[half], terms), live);
    }
  }
  _mm256_store_pd(out, sums[0]);
  _mm256_store_pd(out + 4, sums[1]);
#endif
}
#endif

/* The sums of the rows [begin, end) of a level past the first, whose level
 * below is `below` (row r in slot r & mask): whole groups from the ring,
 * handed to store_group(row, sums of rows row .. row+7), and the rows
 * outside them one at a time, to store(row, sum). */
template <typename Matrix, typename T, typename Store, typename StoreGroup>
void sum_grouped_rows(const Matrix &a, int64_t begin, int64_t end, const T *below, int64_t mask,
                      const RowGroups<T> &groups, Store store, StoreGroup store_group) {
  auto value = [below, mask](int64_t c) { return below[c & mask]; };
  int64_t row = begin;
  if constexpr (groups_built<T>()) {
#if SEJITS_SPARSE_ROW_GROUPS
    for (const int64_t aligned = std::min(end, (begin + kGroupRows - 1) / kGroupRows * kGroupRows); row < aligned;
         ++row) {
      store(row, row_sum(a, row, value));
    }
    for (; row + kGroupRows <= end; row += kGroupRows) {
      const int64_t slot = groups.slot_of(row);
      const int32_t longest = groups.longest[slot];
      if (longest > kGroupEntries) {
        for (int64_t lane = 0; lane < kGroupRows; ++lane) store(row + lane, row_sum(a, row + lane, value));
        continue;
      }
      alignas(64) double out[kGroupRows];
      group_sums(groups.values_of(slot), groups.columns_of(slot), groups.lengths_of(slot), longest, below, mask, out);
      store_group(row, (const T *)out);
    }
#endif
  }
  for (; row < end; ++row) store(row, row_sum(a, row, value));
}

}  // namespace sejits_sparse

#endif  // SEJITS_SPARSE_ROW_GROUPS_H
