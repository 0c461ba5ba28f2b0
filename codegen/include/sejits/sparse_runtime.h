/* Sparse matrices in CSR form (sejits.sparse): the threaded product y = A x,
 * the matrix powers kernel V = [x, p1(A) x, ..., pK(A) x] by PA1, and one
 * fused iteration of conjugate gradients. The sparse specializer's entry
 * points instantiate them for a value type T, an index type I, the number
 * of powers K and the basis; the matrix's structure analysis (its blocks and
 * their ghost zones, sejits/sparse/_analysis.py) is data passed with each
 * call, never compiled in.
 *
 * Every row's sum is taken as SciPy's csr_matvec takes it: in T, in the
 * row's stored order, starting from zero, one multiply and one add per
 * stored entry (no fused multiply-add: this header turns contraction off),
 * so that y = A x, and the monomial powers, are bitwise SciPy's A @ x.
 *
 * PA1: each block owns a contiguous range of rows [r0, r1) and computes
 * level j of the basis on a wider range [lo_j, hi_j) (its ghost zone, grown
 * by one level of A's graph per step), so that it needs no other block's
 * values: redundant rows in exchange for reading A once for all K levels.
 * Within a block, the levels advance as a wavefront over chunks of rows
 * sized from the cache: level j computes the rows whose columns level j-1
 * already holds, so the rows of A that level 1 read stay in cache until
 * level K has used them; each level keeps only a window of its values, in a
 * ring indexed by the row's low bits. Owned rows of every level are written
 * to V; the ghost rows never leave the block. */
#ifndef SEJITS_SPARSE_RUNTIME_H
#define SEJITS_SPARSE_RUNTIME_H

#include <omp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <algorithm>
#include <new>
#include <type_traits>
#include <vector>

#include "sejits/cache_share.h"
#include "sejits/kernel_abi.h"
#include "sejits/sparse_row_groups.h"

#if defined(__x86_64__) && defined(__SSE2__)
#include <emmintrin.h>
#endif

#pragma GCC push_options
#pragma GCC optimize("fp-contract=off")

namespace sejits_sparse {

/* The bases of the powers kernel (sejits.sparse.matrix_powers's basis=). */
enum Basis { kMonomial = 0, kNewton = 1, kChebyshev = 2 };

/* How far ahead of the rows being summed their values and indices are
 * prefetched, in stored entries: on an AMD EPYC VM, a 2-D Poisson product
 * out of cache took 22% less time on 2 threads (12.4 to 9.7 ms) with 256
 * than with none; 128 and 1024 were within a few percent of 256. */
constexpr int64_t kPrefetchEntries = 256;
/* Stored entries below which one thread does a product. */
constexpr int64_t kParallelEntries = 1 << 15;
/* The columns of one block's plan row: r0, r1, the largest distance from a
 * row to a column left of it and right of it, then lo_1..lo_K, hi_1..hi_K. */
constexpr int kPlanHead = 4;

static inline int32_t fail(char *error, int64_t error_len, const char *message) {
  if (error && error_len > 0) snprintf(error, (size_t)error_len, "%s", message);
  return 1;
}

template <typename T>
constexpr int32_t dtype_code() {
  return sizeof(T) == 4 ? SEJITS_FLOAT32 : SEJITS_FLOAT64;
}
template <typename I>
constexpr int32_t index_code() {
  return sizeof(I) == 4 ? SEJITS_INT32 : SEJITS_INT64;
}

static inline bool contiguous(const sejits_arg &arg, int64_t itemsize) {
  for (int d = 0; d < arg.rank; ++d) {
    if (arg.shape[d] == 0) return true;  // no elements: any strides
  }
  int64_t stride = itemsize;
  for (int d = arg.rank - 1; d >= 0; --d) {
    if (arg.shape[d] > 1 && arg.strides[d] != stride) return false;
    stride *= arg.shape[d];
  }
  return true;
}

/* Checks argument `a` is a C-contiguous array of `dtype` and `rank`. */
static inline bool check_array(const sejits_arg *args, int32_t nargs, int a, const char *name, int32_t dtype, int rank,
                               char *error, int64_t error_len) {
  char message[200];
  if (a >= nargs || args[a].kind != SEJITS_ARG_ARRAY || args[a].dtype != dtype || args[a].rank != rank ||
      !contiguous(args[a], sejits_dtype_itemsize(dtype))) {
    snprintf(message, sizeof message, "argument %d (%s) must be a C-contiguous %d-D %s array", a, name, rank,
             sejits_dtype_name(dtype));
    fail(error, error_len, message);
    return false;
  }
  return true;
}

template <typename T, typename I>
struct Csr {
  const T *data;
  const I *indices;
  const I *indptr;
  int64_t rows;
};

/* args[0..2]: data, indices, indptr; their dtypes and lengths. */
template <typename T, typename I>
bool load_csr(const sejits_arg *args, int32_t nargs, Csr<T, I> *csr, char *error, int64_t error_len) {
  if (!check_array(args, nargs, 0, "data", dtype_code<T>(), 1, error, error_len) ||
      !check_array(args, nargs, 1, "indices", index_code<I>(), 1, error, error_len) ||
      !check_array(args, nargs, 2, "indptr", index_code<I>(), 1, error, error_len)) {
    return false;
  }
  if (args[2].shape[0] < 1 || args[0].shape[0] != args[1].shape[0]) {
    fail(error, error_len, "data and indices must have one entry per stored element, and indptr at least one");
    return false;
  }
  csr->data = (const T *)args[0].data;
  csr->indices = (const I *)args[1].data;
  csr->indptr = (const I *)args[2].data;
  csr->rows = args[2].shape[0] - 1;
  if ((int64_t)csr->indptr[csr->rows] > args[0].shape[0]) {
    fail(error, error_len, "indptr's last entry passes the stored elements");
    return false;
  }
  return true;
}

template <typename T, typename I, typename Value>
inline T row_sum(const Csr<T, I> &a, int64_t row, Value value) {
  T sum = 0;
  for (int64_t p = a.indptr[row], end = a.indptr[row + 1]; p < end; ++p) sum += a.data[p] * value((int64_t)a.indices[p]);
  return sum;
}

/* Four rows' running sums, each its own chain of dependent adds in SciPy's
 * order, advanced together so that the chains overlap. */
template <typename T>
struct FourSums {
  int64_t s0, s1, s2, s3;  // where each row's entries start
  T t0 = 0, t1 = 0, t2 = 0, t3 = 0;

  template <typename I, typename Value>
  inline void add(const Csr<T, I> &a, int64_t q, Value value) {
    t0 += a.data[s0 + q] * value((int64_t)a.indices[s0 + q]);
    t1 += a.data[s1 + q] * value((int64_t)a.indices[s1 + q]);
    t2 += a.data[s2 + q] * value((int64_t)a.indices[s2 + q]);
    t3 += a.data[s3 + q] * value((int64_t)a.indices[s3 + q]);
  }
};

/* The first L entries of the four rows, unrolled: no loop control. On 2-D
 * Poisson rows (5 entries) in cache it took a quarter less time per row
 * than the loop. */
template <int L, typename T, typename I, typename Value>
inline void add_first(FourSums<T> &sums, const Csr<T, I> &a, Value value) {
#pragma GCC unroll 16
  for (int q = 0; q < L; ++q) sums.add(a, q, value);
}

/* The first `length` entries of the four rows: the stencil-like lengths
 * (1-D to 3-D Poisson: 3, 5, 7; 4 on their edges; a 9-point stencil: 9)
 * unrolled, any other length by the loop. */
template <typename T, typename I, typename Value>
inline void add_first(FourSums<T> &sums, const Csr<T, I> &a, int64_t length, Value value) {
  switch (length) {
    case 3: return add_first<3>(sums, a, value);
    case 4: return add_first<4>(sums, a, value);
    case 5: return add_first<5>(sums, a, value);
    case 7: return add_first<7>(sums, a, value);
    case 9: return add_first<9>(sums, a, value);
    default:
      for (int64_t q = 0; q < length; ++q) sums.add(a, q, value);
  }
}

/* store(row, sum) for every row of [begin, end), four rows at a time
 * (FourSums) over their common length, then each finishes alone; every
 * row's sum is the same as row_sum's, bit for bit. */
template <typename T, typename I, typename Value, typename Store>
inline void sum_rows(const Csr<T, I> &a, int64_t begin, int64_t end, Value value, Store store) {
  int64_t row = begin;
  for (; row + 4 <= end; row += 4) {
    const int64_t s0 = a.indptr[row], s1 = a.indptr[row + 1], s2 = a.indptr[row + 2], s3 = a.indptr[row + 3],
                  s4 = a.indptr[row + 4];
    const int64_t common = std::max<int64_t>(0, std::min(std::min(s1 - s0, s2 - s1), std::min(s3 - s2, s4 - s3)));
    for (int64_t ahead = s0 + kPrefetchEntries; ahead < s4 + kPrefetchEntries; ahead += 64 / sizeof(T)) {
      __builtin_prefetch(a.data + ahead);
    }
    for (int64_t ahead = s0 + kPrefetchEntries; ahead < s4 + kPrefetchEntries; ahead += 64 / sizeof(I)) {
      __builtin_prefetch(a.indices + ahead);
    }
    FourSums<T> sums{s0, s1, s2, s3};
    add_first(sums, a, common, value);
    if (s4 - s0 != 4 * common) {  // rows of unequal lengths
      for (int64_t p = s0 + common; p < s1; ++p) sums.t0 += a.data[p] * value((int64_t)a.indices[p]);
      for (int64_t p = s1 + common; p < s2; ++p) sums.t1 += a.data[p] * value((int64_t)a.indices[p]);
      for (int64_t p = s2 + common; p < s3; ++p) sums.t2 += a.data[p] * value((int64_t)a.indices[p]);
      for (int64_t p = s3 + common; p < s4; ++p) sums.t3 += a.data[p] * value((int64_t)a.indices[p]);
    }
    store(row, sums.t0);
    store(row + 1, sums.t1);
    store(row + 2, sums.t2);
    store(row + 3, sums.t3);
  }
  for (; row < end; ++row) store(row, row_sum(a, row, value));
}

/* A y larger than the cache is written with non-temporal stores: its lines
 * go to memory without first being read into the cache (a plain store's
 * read for ownership costs a y's worth of extra traffic, 8 of a 2-D
 * Poisson row's 88 bytes). Rows are stored in order, so the write-combining
 * buffers fill whole lines. On the 2-core VM a product took 5-10% less time
 * with them where memory was slow, and the same where it was fast. */
template <typename T>
inline void stream_store(T *at, T value) {
#if defined(__x86_64__) && defined(__SSE2__)
  if constexpr (sizeof(T) == 8) {
    long long bits;
    memcpy(&bits, &value, sizeof bits);
    _mm_stream_si64((long long *)at, bits);
  } else {
    int bits;
    memcpy(&bits, &value, sizeof bits);
    _mm_stream_si32((int *)at, bits);
  }
#else
  *at = value;
#endif
}

/* Orders this thread's non-temporal stores before what follows. */
static inline void stream_fence() {
#if defined(__x86_64__) && defined(__SSE2__)
  _mm_sfence();
#endif
}

/* The first row of thread `me` of `team` when rows are split by stored entries. */
template <typename T, typename I>
int64_t split_row(const Csr<T, I> &a, int me, int team) {
  if (me <= 0) return 0;
  if (me >= team) return a.rows;
  const int64_t target = (int64_t)a.indptr[a.rows] * me / team;
  return std::lower_bound(a.indptr, a.indptr + a.rows, (I)target) - a.indptr;
}

template <typename T, typename I>
int team_for(const Csr<T, I> &a, int nthreads) {
  const int64_t entries = (int64_t)a.indptr[a.rows] + a.rows;
  return entries < kParallelEntries ? 1 : std::max(1, nthreads);
}

/* ---- y = A x ------------------------------------------------------------- */

/* The index type of IB bytes (the entries' second template argument). */
template <int IB>
using Index = std::conditional_t<IB == 4, int32_t, int64_t>;

/* data, indices, indptr, x, y (written). */
template <typename T, int IB, typename I = Index<IB>>
int32_t spmv(const sejits_arg *args, int32_t nargs, int nthreads, char *error, int64_t error_len) {
  Csr<T, I> a;
  if (!load_csr<T, I>(args, nargs, &a, error, error_len) ||
      !check_array(args, nargs, 3, "x", dtype_code<T>(), 1, error, error_len) ||
      !check_array(args, nargs, 4, "y", dtype_code<T>(), 1, error, error_len)) {
    return 1;
  }
  if (args[4].shape[0] != a.rows) return fail(error, error_len, "y must have one entry per row of A");
  const T *x = (const T *)args[3].data;
  T *y = (T *)args[4].data;
  const int team = team_for(a, nthreads);
  const bool streaming = a.rows * (int64_t)sizeof(T) > sejits_usable_cache_bytes();
#pragma omp parallel num_threads(team)
  {
    const int me = omp_get_thread_num(), size = omp_get_num_threads();
    const int64_t begin = split_row(a, me, size), end = split_row(a, me + 1, size);
    auto value = [x](int64_t c) { return x[c]; };
    if (streaming) {
      sum_rows(a, begin, end, value, [y](int64_t row, T sum) { stream_store(y + row, sum); });
      stream_fence();
    } else {
      sum_rows(a, begin, end, value, [y](int64_t row, T sum) { y[row] = sum; });
    }
  }
  return 0;
}

/* ---- the powers kernel --------------------------------------------------- */

/* Level j+1 of row `row` from A's row sum over level j (`sum`), level j's
 * and level j-1's values of the row, and the basis's coefficients. */
template <typename T, int BASIS>
inline T next_level(T sum, int j, T here, T before, const double *coeffs) {
  if (BASIS == kMonomial) return sum;
  if (BASIS == kNewton) return sum - (T)coeffs[j] * here;
  const T c = (T)coeffs[0], h = (T)coeffs[1];  // Chebyshev: T_{j+1} = 2 (A - c) T_j / h - T_{j-1}
  if (j == 0) return (sum - c * here) / h;
  return (T)2 * (sum - c * here) / h - before;
}

/* Level by level, all rows each time: K products with the basis's update
 * (the fallback where ghost zones cost more than they save). */
template <typename T, typename I, int K, int BASIS>
void powers_by_level(const Csr<T, I> &a, const double *coeffs, T *v, int team) {
  const int64_t n = a.rows;
#pragma omp parallel num_threads(team)
  {
    const int me = omp_get_thread_num(), size = omp_get_num_threads();
    const int64_t begin = split_row(a, me, size), end = split_row(a, me + 1, size);
    for (int j = 0; j < K; ++j) {
      const T *here = v + j * n, *before = j > 0 ? v + (j - 1) * n : v;
      T *next = v + (j + 1) * n;
      sum_rows(a, begin, end, [here](int64_t c) { return here[c]; },
               [&](int64_t row, T sum) { next[row] = next_level<T, BASIS>(sum, j, here[row], before[row], coeffs); });
#pragma omp barrier
    }
  }
}

/* One block's rows and ghost zones, from its row of the plan. */
struct Block {
  int64_t r0, r1, left, right;
  const int64_t *lo, *hi;  // lo[j], hi[j] for j = 1..K (lo[0], hi[0] unused)
};

static inline int64_t power_of_two_at_least(int64_t value) {
  int64_t p = 1;
  while (p < value) p <<= 1;
  return p;
}

/* Rows per wavefront step of a block whose rows reach `left` and `right`
 * rows from the diagonal: the step's rows of A, those of the K levels in
 * flight (about K * right rows) and the K - 1 windows of values
 * (chunk + left + 2 right rows each) fill about half of this thread's
 * share of the cache. */
template <typename T, typename I, int K>
int64_t chunk_rows(const Csr<T, I> &a, int team, int64_t left, int64_t right) {
  if (const char *given = getenv("SEJITS_SPARSE_CHUNK_ROWS")) return std::max<int64_t>(16, atoll(given));  // experiments
  const double entries_per_row = a.rows > 0 ? (double)a.indptr[a.rows] / (double)a.rows : 1.0;
  const double row_bytes = entries_per_row * (sizeof(T) + sizeof(I)) + sizeof(I);
  const double window_bytes = (K - 1) * (double)sizeof(T);
  const double budget = (double)sejits_usable_cache_bytes() / std::max(1, team) / 2 -
                        row_bytes * (double)(K * right) - window_bytes * (double)(left + 2 * right);
  return std::clamp<int64_t>((int64_t)(budget / (row_bytes + window_bytes)), 256, 1 << 14);
}

/* The rows each level's ring must hold: the schedule keeps level j no more
 * than this ahead of the lowest row level j+1 (and, for Chebyshev, j+2)
 * still reads, and leaves room for a chunk plus the reach of the rows. */
static inline int64_t window_rows(int64_t chunk, int64_t left, int64_t right) { return chunk + left + 2 * right + 2; }

/* The wavefront over one block: level j holds the values of rows
 * [lo_j, front_j), the last mask + 1 of them in its ring (slot row & mask).
 * Each pass advances every level as far as three rules allow: the rows it
 * computes read only columns level j-1 holds (columns reach `right` past a
 * row); a pass advances a level by at most a chunk; and level j never
 * overwrites a slot whose row level j+1 (left of its front by `left`) or,
 * for Chebyshev, level j+2 (at its front) still reads, where the ring is
 * shorter than the ghost zone (`wraps`). With window_rows() slots some
 * level always advances. False if a pass made no progress (a plan that
 * does not fit the matrix). */
template <typename T, typename I, int K, int BASIS>
bool powers_block(const Csr<T, I> &a, const Block &b, const double *coeffs, const T *x, T *v, int64_t chunk, T *ring,
                  int64_t mask, bool wraps, RowGroups<T> *groups) {
  const int64_t n = a.rows, slots = mask + 1;
  int64_t front[K + 1];
  front[0] = n;  // level 0 is x, all there
  for (int j = 1; j <= K; ++j) front[j] = b.lo[j];
  auto level = [&](int j) { return ring + (int64_t)(j - 1) * slots; };
  auto value = [&](int j, int64_t row) -> T { return j == 0 ? x[row] : level(j)[row & mask]; };
  while (front[K] < b.hi[K]) {
    bool progressed = false;
    for (int j = 1; j <= K; ++j) {
      int64_t limit = j == 1 || front[j - 1] >= b.hi[j - 1] ? b.hi[j] : front[j - 1] - b.right;
      limit = std::min(limit, front[j] + chunk);
      if (wraps && j < K && front[j + 1] < b.hi[j + 1]) limit = std::min(limit, front[j + 1] - b.left + slots);
      if (wraps && BASIS == kChebyshev && j + 2 <= K && front[std::min(j + 2, K)] < b.hi[std::min(j + 2, K)]) {
        limit = std::min(limit, front[std::min(j + 2, K)] + slots);
      }
      if (groups && j == 1) {  // level 1 overwrites no group a later level has still to read
        int64_t oldest = b.hi[1];
        for (int later = 2; later <= K; ++later) {
          if (front[later] < b.hi[later]) oldest = std::min(oldest, front[later]);
        }
        limit = std::min(limit, oldest / kGroupRows * kGroupRows + groups->rows());
      }
      if (limit <= front[j]) continue;
      T *out = level(j), *owned = v + (int64_t)j * n;
      const bool to_ring = j < K;  // level K is read by no level
      const int64_t r0 = b.r0, r1 = b.r1;
      auto store = [&, to_ring, r0, r1, out, owned, mask](int64_t row, T sum) {
        T next = sum;  // monomial; the other bases read this row's previous levels (10% off a 2-D Poisson A^8 x without)
        if constexpr (BASIS != kMonomial) {
          const T before = BASIS == kChebyshev && j >= 2 ? value(j - 2, row) : T(0);  // only Chebyshev reads level j-2
          next = next_level<T, BASIS>(sum, j - 1, value(j - 1, row), before, coeffs);
        }
        if (to_ring) out[row & mask] = next;
        if (row >= r0 && row < r1) owned[row] = next;
      };
      if (j == 1 && !groups) {
        sum_rows(a, front[j], limit, [x](int64_t c) { return x[c]; }, store);
      } else if (groups) {
        if (j == 1) copy_rows(a, front[j], limit, *groups);
        auto store_group = [&, to_ring, r0, r1, out, owned, mask](int64_t row, const T *sums) {
          const bool ring_whole = !to_ring || (row & mask) + kGroupRows <= slots;
          if (BASIS != kMonomial || !ring_whole || row < r0 || row + kGroupRows > r1) {
            for (int64_t lane = 0; lane < kGroupRows; ++lane) store(row + lane, sums[lane]);
            return;
          }
          if (to_ring) memcpy(out + (row & mask), sums, kGroupRows * sizeof(T));
          memcpy(owned + row, sums, kGroupRows * sizeof(T));
        };
        const T *below = j == 1 ? x : level(j - 1);
        const int64_t below_mask = j == 1 ? INT64_MAX : mask;  // x is whole: every bit of a column is kept
        sum_grouped_rows(a, front[j], limit, below, below_mask, *groups, store, store_group);
      } else {
        // Levels past the first read rows of A that level 1 brought into the cache: one row at a time, without
        // sum_rows' prefetches and interleaving, is faster there (2-D Poisson A^8 x: 68 against 86 ms).
        const T *below = level(j - 1);
        for (int64_t row = front[j]; row < limit; ++row) {
          store(row, row_sum(a, row, [below, mask](int64_t c) { return below[c & mask]; }));
        }
      }
      front[j] = limit;
      progressed = true;
    }
    if (!progressed) return false;
  }
  return true;
}

/* data, indices, indptr, plan (blocks x (kPlanHead + 2K) int64; no rows:
 * level by level), coeffs (float64: Newton's K shifts, Chebyshev's c and h),
 * V ((K+1) x n, row 0 given: x; rows 1..K written). GROUPS: PA1 sums groups
 * of eight rows where built (sejits/sparse_row_groups.h). */
template <typename T, int IB, int K, int BASIS, int GROUPS = 1, typename I = Index<IB>>
int32_t powers(const sejits_arg *args, int32_t nargs, int nthreads, char *error, int64_t error_len) {
  Csr<T, I> a;
  if (!load_csr<T, I>(args, nargs, &a, error, error_len) ||
      !check_array(args, nargs, 3, "plan", SEJITS_INT64, 2, error, error_len) ||
      !check_array(args, nargs, 4, "coeffs", SEJITS_FLOAT64, 1, error, error_len) ||
      !check_array(args, nargs, 5, "V", dtype_code<T>(), 2, error, error_len)) {
    return 1;
  }
  const int64_t n = a.rows, blocks = args[3].shape[0];
  if (args[5].shape[0] != K + 1 || args[5].shape[1] != n) return fail(error, error_len, "V must be (k+1) x n");
  if (blocks > 0 && args[3].shape[1] != kPlanHead + 2 * K) return fail(error, error_len, "the plan was made for another k");
  const int64_t need = BASIS == kNewton ? K : BASIS == kChebyshev ? 2 : 0;
  if (args[4].shape[0] < need) return fail(error, error_len, "too few basis coefficients");
  const double *coeffs = (const double *)args[4].data;
  T *v = (T *)args[5].data;
  const int team = team_for(a, nthreads);
  if (blocks == 0 || n == 0) {
    powers_by_level<T, I, K, BASIS>(a, coeffs, v, team);
    return 0;
  }
  const int64_t *plan = (const int64_t *)args[3].data, width = kPlanHead + 2 * K;
  /* The blocks own consecutive ranges that cover [0, n); each level's zone
   * holds the next level's and the block's own rows, inside [0, n). */
  int64_t covered = 0;
  for (int64_t block = 0; block < blocks; ++block) {
    const int64_t *row = plan + block * width;
    bool fits = row[0] == covered && row[0] <= row[1] && row[2] >= 0 && row[3] >= 0;
    covered = row[1];
    for (int j = 1; j <= K && fits; ++j) {
      const int64_t lo = row[kPlanHead + j - 1], hi = row[kPlanHead + K + j - 1];
      const int64_t next_lo = j < K ? row[kPlanHead + j] : row[0], next_hi = j < K ? row[kPlanHead + K + j] : row[1];
      fits = lo >= 0 && hi <= n && lo <= next_lo && hi >= next_hi;
    }
    if (!fits) return fail(error, error_len, "the plan does not fit this matrix (analysed for another one?)");
  }
  if (covered != n) return fail(error, error_len, "the plan's blocks do not cover the matrix's rows");
  int failed = 0;
#pragma omp parallel num_threads(team) reduction(| : failed)
  {
    std::vector<T> ring;
    RowGroups<T> groups;
#pragma omp for schedule(dynamic, 1)
    for (int64_t index = 0; index < blocks; ++index) {
      const int64_t *row = plan + index * width;
      int64_t lo[K + 1], hi[K + 1];
      for (int j = 1; j <= K; ++j) lo[j] = row[kPlanHead + j - 1], hi[j] = row[kPlanHead + K + j - 1];
      const Block block{row[0], row[1], row[2], row[3], lo, hi};
      const int64_t chunk = chunk_rows<T, I, K>(a, team, block.left, block.right);
      const int64_t window = window_rows(chunk, block.left, block.right), hull = hi[1] - lo[1];
      const bool wraps = window < hull;  // else the ring holds the whole ghost zone: no slot is reused
      const int64_t mask = power_of_two_at_least(wraps ? window : hull) - 1;
      try {
        ring.resize((size_t)std::max(1, K - 1) * (size_t)(mask + 1));
      } catch (const std::bad_alloc &) {
        failed = 1;
        continue;
      }
      // Groups hold the rows from the lowest level still running up to level 1: K - 1 reaches and two chunks.
      const bool grouped = GROUPS && groups_built<T>() && K > 1 && n <= INT32_MAX &&
                           groups.reserve((K - 1) * (block.right + 1) + 2 * chunk + 2 * kGroupRows,
                                          kGroupRingCacheShares * sejits_usable_cache_bytes() / team);
      if (!powers_block<T, I, K, BASIS>(a, block, coeffs, v, v, chunk, ring.data(), mask, wraps,
                                        grouped ? &groups : nullptr)) {
        failed = 2;
      }
    }
  }
  if (failed & 1) return fail(error, error_len, "out of memory for the powers kernel's windows");
  if (failed) return fail(error, error_len, "the powers kernel's wavefront stalled: the plan does not fit this matrix");
  return 0;
}

/* ---- conjugate gradients ----------------------------------------------- */

/* One iteration of CG as scipy.sparse.linalg.cg takes it, in three passes:
 * p = z + beta p (p = z where beta is 0 on the first), q = A p with p.q,
 * then x += alpha p, r -= alpha q with r.r (alpha = rho / p.q).
 * data, indices, indptr, x, r, z (M r; r itself without M), p, q,
 * state (float64 [4]: in beta, rho; out alpha, r.r). */
template <typename T, int IB, typename I = Index<IB>>
int32_t cg_iteration(const sejits_arg *args, int32_t nargs, int nthreads, char *error, int64_t error_len) {
  Csr<T, I> a;
  if (!load_csr<T, I>(args, nargs, &a, error, error_len)) return 1;
  static const char *const names[] = {"x", "r", "z", "p", "q"};
  for (int k = 0; k < 5; ++k) {
    if (!check_array(args, nargs, 3 + k, names[k], dtype_code<T>(), 1, error, error_len)) return 1;
    if (args[3 + k].shape[0] != a.rows) return fail(error, error_len, "x, r, z, p and q must have one entry per row");
  }
  if (!check_array(args, nargs, 8, "state", SEJITS_FLOAT64, 1, error, error_len) || args[8].shape[0] != 4) {
    return fail(error, error_len, "state must be 4 float64 values");
  }
  T *x = (T *)args[3].data, *r = (T *)args[4].data, *p = (T *)args[6].data, *q = (T *)args[7].data;
  const T *z = (const T *)args[5].data;
  double *state = (double *)args[8].data;
  const T beta = (T)state[0];
  const double rho = state[1];
  const int team = team_for(a, nthreads);
  std::vector<double> partial((size_t)team * 8, 0.0);  // one cache line per thread
  double alpha = 0.0;
#pragma omp parallel num_threads(team)
  {
    const int me = omp_get_thread_num(), size = omp_get_num_threads();
    const int64_t begin = split_row(a, me, size), end = split_row(a, me + 1, size);
    for (int64_t row = begin; row < end; ++row) p[row] = beta == T(0) ? z[row] : z[row] + beta * p[row];
#pragma omp barrier
    sum_rows(a, begin, end, [p](int64_t c) { return p[c]; }, [q](int64_t row, T sum) { q[row] = sum; });
    double pq = 0.0;
    for (int64_t row = begin; row < end; ++row) pq += (double)p[row] * (double)q[row];
    partial[(size_t)me * 8] = pq;
#pragma omp barrier
#pragma omp single
    {
      double total = 0.0;
      for (int t = 0; t < size; ++t) total += partial[(size_t)t * 8];
      alpha = rho / total;
    }
    const T step = (T)alpha;
    double rr = 0.0;
    for (int64_t row = begin; row < end; ++row) {
      x[row] += step * p[row];
      r[row] -= step * q[row];
      rr += (double)r[row] * (double)r[row];
    }
    partial[(size_t)me * 8] = rr;
  }
  double rr = 0.0;
  for (int t = 0; t < team; ++t) rr += partial[(size_t)t * 8];
  state[2] = alpha;
  state[3] = rr;
  return 0;
}

}  // namespace sejits_sparse

#pragma GCC pop_options

#endif  // SEJITS_SPARSE_RUNTIME_H
