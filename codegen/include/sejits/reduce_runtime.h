/* Reductions (sejits.reduce): the order in which elements are combined, the
 * loops of the two layouts and the parallel split. A generated reduction
 * kernel supplies only its map (one element's value in the accumulator
 * type, from strided and from unit-stride operands) and its combine
 * operator; every reduction shares this one implementation of the order.
 *
 * The order. The elements of one reduction, in the C order of its reduced
 * axes as the kernel sees them, are combined by NumPy's pairwise scheme
 * (numpy/_core/src/umath/loops_utils.h.src): a range of 8 to 128 elements
 * goes to 8 interleaved accumulators, combined as
 * ((r0+r1)+(r2+r3))+((r4+r5)+(r6+r7)), then the rest one by one; a range
 * under 8 goes one by one; a longer range splits at half its length rounded
 * down to a multiple of 8. The tree depends on the range's length only.
 * Threads compute whole subtrees and their values are combined by the same
 * tree, so the result never depends on the thread count, the tile width or
 * any other variant. NumPy uses this tree only along a contiguous axis and
 * adds naively along strided ones; here a strided axis runs the same tree
 * for a tile of contiguous columns at once ("row mode"). */
#ifndef SEJITS_REDUCE_RUNTIME_H
#define SEJITS_REDUCE_RUNTIME_H

#include <stdint.h>
#include <omp.h>
#include <stdlib.h>

#include "sejits/kernel_abi.h"

#define SEJITS_REDUCE_LEAF 128     /* NumPy's PW_BLOCKSIZE */
#define SEJITS_REDUCE_LANES 8      /* interleaved accumulators of a leaf */
#define SEJITS_REDUCE_OPERANDS 10  /* the map's arrays (at most SEJITS_MAX_RANK) and the where mask */
#define SEJITS_REDUCE_MAX_TILE 1024 /* columns of one row-mode tile, at most: its arrays live on OpenMP threads' stacks */
/* Below this many element evaluations a reduction runs on the calling thread. */
#define SEJITS_REDUCE_PARALLEL_ELEMENTS 32768

typedef struct sejits_reduce_layout {
  int noperands; /* array arguments, in argument order (the where mask is one) */
  const char *base[SEJITS_REDUCE_OPERANDS];
  int64_t itemsize[SEJITS_REDUCE_OPERANDS];
  char *out;
  int64_t out_itemsize;
  int nkept, nred; /* after merging; the output has the kept dimensions */
  int64_t kept_shape[SEJITS_MAX_RANK], red_shape[SEJITS_MAX_RANK];
  int64_t kept_stride[SEJITS_REDUCE_OPERANDS + 1][SEJITS_MAX_RANK]; /* bytes; the output's last */
  int64_t red_stride[SEJITS_REDUCE_OPERANDS][SEJITS_MAX_RANK];
  int64_t kept_count, red_count;
  int64_t out_scan_stride; /* scans: the output's stride along the scanned dimension */
  int unit_reduced; /* one reduced dimension, every operand's stride along it its item size */
  int row_mode;     /* one reduced dimension, every operand contiguous along the last kept one */
} sejits_reduce_layout;

/* Merges the dimensions [first, first + n) of the listed stride rows where
 * every row allows it (stride[d] == stride[d + 1] * shape[d + 1]) and drops
 * extent-1 dimensions. Returns the new count; shapes and strides move down. */
static inline int sejits_reduce_merge(int64_t *shape, int n, int64_t (*strides)[SEJITS_MAX_RANK], int nrows) {
  int kept = 0;
  for (int d = 0; d < n; ++d) {
    if (shape[d] == 1) continue;
    int merge = kept > 0;
    for (int r = 0; merge && r < nrows; ++r) merge = strides[r][kept - 1] == strides[r][d] * shape[d];
    if (merge) {
      shape[kept - 1] *= shape[d];
      for (int r = 0; r < nrows; ++r) strides[r][kept - 1] = strides[r][d];
      continue;
    }
    shape[kept] = shape[d];
    for (int r = 0; r < nrows; ++r) strides[r][kept] = strides[r][d];
    ++kept;
  }
  return kept;
}

/* Reads the arguments: the arrays before the output have the output's
 * dimensions followed by `nred` reduced ones, all of one shape (the client
 * broadcasts them); a scan's output (`out_scanned`) has the scanned
 * dimension last as well. Returns 0, or 1 with a message in `error`. */
static inline int32_t sejits_reduce_layout_init(sejits_reduce_layout *layout, const sejits_arg *args, int32_t nargs,
                                                int nred, int out_scanned, char *error, int64_t error_len) {
  const sejits_arg *out = &args[nargs - 1];
  const int nkept = out->rank - out_scanned;
  if (out->kind != SEJITS_ARG_ARRAY || nkept < 0 || nkept + nred > SEJITS_MAX_RANK || (out_scanned && nred != 1)) {
    return sejits_fail(error, error_len, "the reduction's output is not an array of the kept dimensions");
  }
  layout->noperands = 0;
  const sejits_arg *first = NULL; /* the first array: every array has its shape (scalars have none) */
  layout->out = (char *)out->data;
  layout->out_itemsize = sejits_dtype_itemsize(out->dtype);
  for (int32_t k = 0; k + 1 < nargs; ++k) {
    const sejits_arg *arg = &args[k];
    if (arg->kind != SEJITS_ARG_ARRAY) continue;
    const int j = layout->noperands++;
    if (j >= SEJITS_REDUCE_OPERANDS || arg->rank != nkept + nred) {
      return sejits_fail(error, error_len, "a reduction operand does not have the kept and reduced dimensions");
    }
    layout->base[j] = (const char *)arg->data;
    layout->itemsize[j] = sejits_dtype_itemsize(arg->dtype);
    if (!first) first = arg;
    for (int d = 0; d < nkept + nred; ++d) {
      if (arg->shape[d] != first->shape[d]) return sejits_fail(error, error_len, "the reduction's operands do not have one shape");
    }
    for (int d = 0; d < nkept; ++d) {
      if (arg->shape[d] != out->shape[d]) return sejits_fail(error, error_len, "the output does not have the kept shape");
      layout->kept_stride[j][d] = arg->strides[d];
    }
    for (int d = 0; d < nred; ++d) layout->red_stride[j][d] = arg->strides[nkept + d];
  }
  const int nops = layout->noperands;
  layout->kept_count = 1;
  for (int d = 0; d < nkept; ++d) {
    layout->kept_shape[d] = out->shape[d];
    layout->kept_stride[nops][d] = out->strides[d];
    layout->kept_count *= out->shape[d];
  }
  layout->red_count = 1;
  for (int d = 0; d < nred; ++d) {
    layout->red_shape[d] = first ? first->shape[nkept + d] : 1;
    layout->red_count *= layout->red_shape[d];
  }
  layout->out_scan_stride = out_scanned ? out->strides[nkept] : 0;
  if (out_scanned && out->shape[nkept] != layout->red_count) {
    return sejits_fail(error, error_len, "the scan's output does not have the scanned length");
  }
  layout->nkept = sejits_reduce_merge(layout->kept_shape, nkept, layout->kept_stride, nops + 1);
  layout->nred = sejits_reduce_merge(layout->red_shape, nred, layout->red_stride, nops);
  if (layout->nred == 0) { /* every reduced extent 1 (or none): one element along a zero stride */
    layout->nred = 1;
    layout->red_shape[0] = layout->red_count;
    for (int j = 0; j < nops; ++j) layout->red_stride[j][0] = 0;
  }
  layout->unit_reduced = layout->nred == 1;
  for (int j = 0; j < nops; ++j) layout->unit_reduced &= layout->red_stride[j][0] == layout->itemsize[j];
  layout->row_mode = layout->nred == 1 && layout->nkept > 0 && !layout->unit_reduced && nops > 0;
  for (int j = 0; j < nops && layout->row_mode; ++j) {
    layout->row_mode = layout->kept_stride[j][layout->nkept - 1] == layout->itemsize[j];
  }
  return 0;
}

/* The byte offsets of kept position `group` (C order over the first
 * `ndims` kept dimensions) in every operand and, last, the output. */
static inline void sejits_reduce_kept_offsets(const sejits_reduce_layout *layout, int ndims, int64_t group,
                                              int64_t *offsets) {
  for (int j = 0; j <= layout->noperands; ++j) offsets[j] = 0;
  for (int d = ndims - 1; d >= 0; --d) {
    const int64_t index = group % layout->kept_shape[d];
    group /= layout->kept_shape[d];
    for (int j = 0; j <= layout->noperands; ++j) offsets[j] += index * layout->kept_stride[j][d];
  }
}

/* The number of subtrees of a range of `n` under the tree's splits that are
 * at most `cut` long, and their starts and lengths (when `ranges` is set). */
static inline int64_t sejits_reduce_subtrees(int64_t lo, int64_t n, int64_t cut, int64_t *ranges, int64_t count) {
  if (n <= cut || n <= SEJITS_REDUCE_LEAF) {
    if (ranges) {
      ranges[2 * count] = lo;
      ranges[2 * count + 1] = n;
    }
    return count + 1;
  }
  int64_t half = n / 2;
  half -= half % SEJITS_REDUCE_LANES;
  count = sejits_reduce_subtrees(lo, half, cut, ranges, count);
  return sejits_reduce_subtrees(lo + half, n - half, cut, ranges, count);
}

/* Element i of a reduction's range, in order, for arg reductions, scans and
 * reduced dimensions that do not merge (which visit elements one by one): visit(offsets, lo, n, f) calls
 * f(i, value) for i in [lo, lo + n). */
template <typename T, T (*Map)(const char **, const int64_t *, int64_t, const sejits_arg *),
          T (*MapUnit)(const char **, int64_t, const sejits_arg *)>
struct sejits_reduce_elements {
  const sejits_reduce_layout *layout;
  const sejits_arg *args;

  template <typename F>
  inline void visit(const int64_t *offsets, int64_t lo, int64_t n, F &&f) const {
    const int nops = layout->noperands;
    const char *p[SEJITS_REDUCE_OPERANDS];
    if (layout->nred == 1) {
      int64_t s[SEJITS_REDUCE_OPERANDS];
      for (int j = 0; j < nops; ++j) {
        s[j] = layout->red_stride[j][0];
        p[j] = layout->base[j] + offsets[j] + lo * s[j];
      }
      if (layout->unit_reduced) {
        for (int64_t i = 0; i < n; ++i) f(lo + i, MapUnit(p, i, args));
      } else {
        for (int64_t i = 0; i < n; ++i) f(lo + i, Map(p, s, i, args));
      }
      return;
    }
    int64_t index[SEJITS_MAX_RANK], zero[SEJITS_REDUCE_OPERANDS] = {0};
    int64_t rest = lo;
    for (int d = layout->nred - 1; d >= 0; --d) {
      index[d] = rest % layout->red_shape[d];
      rest /= layout->red_shape[d];
    }
    for (int j = 0; j < nops; ++j) {
      p[j] = layout->base[j] + offsets[j];
      for (int d = 0; d < layout->nred; ++d) p[j] += index[d] * layout->red_stride[j][d];
    }
    for (int64_t i = 0; i < n; ++i) {
      f(lo + i, Map(p, zero, 0, args));
      for (int d = layout->nred - 1; d >= 0; --d) {
        for (int j = 0; j < nops; ++j) p[j] += layout->red_stride[j][d];
        if (++index[d] < layout->red_shape[d]) break;
        for (int j = 0; j < nops; ++j) p[j] -= layout->red_shape[d] * layout->red_stride[j][d];
        index[d] = 0;
      }
    }
  }

  /* One reduced dimension only: elements starts[q] + i of Q ranges in
   * lockstep, f(i, values) with values[q] for i in [0, n). A caller's Q
   * running values are independent chains. */
  template <int Q, typename F>
  inline void visit_lockstep(const int64_t *offsets, const int64_t *starts, int64_t n, F &&f) const {
    const int nops = layout->noperands;
    const char *p[Q][SEJITS_REDUCE_OPERANDS];
    int64_t s[SEJITS_REDUCE_OPERANDS];
    for (int j = 0; j < nops; ++j) s[j] = layout->red_stride[j][0];
    for (int q = 0; q < Q; ++q) {
      for (int j = 0; j < nops; ++j) p[q][j] = layout->base[j] + offsets[j] + starts[q] * s[j];
    }
    T values[Q];
    if (layout->unit_reduced) {
      for (int64_t i = 0; i < n; ++i) {
        for (int q = 0; q < Q; ++q) values[q] = MapUnit(p[q], i, args);
        f(i, values);
      }
    } else {
      for (int64_t i = 0; i < n; ++i) {
        for (int q = 0; q < Q; ++q) values[q] = Map(p[q], s, i, args);
        f(i, values);
      }
    }
  }
};

/* The reduction of one kept position (inner mode) or one tile of columns
 * (row mode), for the map `Map` (strided operands), `MapUnit` (unit-stride
 * operands) and the operator `Combine`. */
template <typename Acc, Acc (*Map)(const char **, const int64_t *, int64_t, const sejits_arg *),
          Acc (*MapUnit)(const char **, int64_t, const sejits_arg *), Acc (*Combine)(Acc, Acc)>
struct sejits_reduce_loops {
  const sejits_reduce_layout *layout;
  const sejits_arg *args;

  /* A leaf: `value(i)` is element i of the range. */
  template <typename Value>
  static inline Acc leaf(const Value &value, int64_t n) {
    if (n < SEJITS_REDUCE_LANES) {
      Acc result = value(0);
      for (int64_t i = 1; i < n; ++i) result = Combine(result, value(i));
      return result;
    }
    Acc r[SEJITS_REDUCE_LANES];
    for (int k = 0; k < SEJITS_REDUCE_LANES; ++k) r[k] = value(k);
    const int64_t whole = n - n % SEJITS_REDUCE_LANES;
    for (int64_t i = SEJITS_REDUCE_LANES; i < whole; i += SEJITS_REDUCE_LANES) {
      for (int k = 0; k < SEJITS_REDUCE_LANES; ++k) r[k] = Combine(r[k], value(i + k));
    }
    Acc result = Combine(Combine(Combine(r[0], r[1]), Combine(r[2], r[3])), Combine(Combine(r[4], r[5]), Combine(r[6], r[7])));
    for (int64_t i = whole; i < n; ++i) result = Combine(result, value(i));
    return result;
  }

  /* Inner mode over reduced dimensions that do not merge: elements
   * [lo, lo + n) of the reduction at kept `offsets`, in order, then the leaf. */
  Acc inner_leaf(const int64_t *offsets, int64_t lo, int64_t n) const {
    Acc values[SEJITS_REDUCE_LEAF];
    const sejits_reduce_elements<Acc, Map, MapUnit> elements = {layout, args};
    elements.visit(offsets, lo, n, [&](int64_t i, Acc value) { values[i - lo] = value; });
    return leaf([&](int64_t i) { return values[i]; }, n);
  }

  /* Unit-stride operands: the tree over pointers already at the range. Its
   * leaves set nothing up (a leaf that did was 3x slower out of cache). */
  Acc unit_tree(const char **p, int64_t n) const {
    if (n <= SEJITS_REDUCE_LEAF) {
      const sejits_arg *a = args;
      return leaf([&](int64_t i) { return MapUnit(p, i, a); }, n);
    }
    int64_t half = n / 2;
    half -= half % SEJITS_REDUCE_LANES;
    const Acc low = unit_tree(p, half);
    const char *upper[SEJITS_REDUCE_OPERANDS];
    for (int j = 0; j < layout->noperands; ++j) upper[j] = p[j] + half * layout->itemsize[j];
    return Combine(low, unit_tree(upper, n - half));
  }

  /* One strided reduced dimension (strides s, bytes): the same, strided. */
  Acc strided_tree(const char **p, const int64_t *s, int64_t n) const {
    if (n <= SEJITS_REDUCE_LEAF) {
      const sejits_arg *a = args;
      return leaf([&](int64_t i) { return Map(p, s, i, a); }, n);
    }
    int64_t half = n / 2;
    half -= half % SEJITS_REDUCE_LANES;
    const Acc low = strided_tree(p, s, half);
    const char *upper[SEJITS_REDUCE_OPERANDS];
    for (int j = 0; j < layout->noperands; ++j) upper[j] = p[j] + half * s[j];
    return Combine(low, strided_tree(upper, s, n - half));
  }

  Acc inner_tree(const int64_t *offsets, int64_t lo, int64_t n) const {
    if (layout->nred == 1) {
      const char *p[SEJITS_REDUCE_OPERANDS];
      int64_t s[SEJITS_REDUCE_OPERANDS];
      for (int j = 0; j < layout->noperands; ++j) {
        s[j] = layout->red_stride[j][0];
        p[j] = layout->base[j] + offsets[j] + lo * s[j];
      }
      return layout->unit_reduced ? unit_tree(p, n) : strided_tree(p, s, n);
    }
    if (n <= SEJITS_REDUCE_LEAF) return inner_leaf(offsets, lo, n);
    int64_t half = n / 2;
    half -= half % SEJITS_REDUCE_LANES;
    return Combine(inner_tree(offsets, lo, half), inner_tree(offsets, lo + half, n - half));
  }

  /* Row mode: rows [lo, lo + n) of the `width` columns at kept `offsets`
   * (the tile's first column), one tree per column, into result[0..width). */
  void row_leaf(const int64_t *offsets, int64_t width, int64_t lo, int64_t n, Acc *result) const {
    const int nops = layout->noperands;
    const char *p[SEJITS_REDUCE_OPERANDS];
    auto row = [&](int64_t r) {
      for (int j = 0; j < nops; ++j) p[j] = layout->base[j] + offsets[j] + r * layout->red_stride[j][0];
    };
    if (n < SEJITS_REDUCE_LANES) {
      row(lo);
      for (int64_t c = 0; c < width; ++c) result[c] = MapUnit(p, c, args);
      for (int64_t i = 1; i < n; ++i) {
        row(lo + i);
        for (int64_t c = 0; c < width; ++c) result[c] = Combine(result[c], MapUnit(p, c, args));
      }
      return;
    }
    Acc r[SEJITS_REDUCE_LANES][SEJITS_REDUCE_MAX_TILE];
    for (int k = 0; k < SEJITS_REDUCE_LANES; ++k) {
      row(lo + k);
      for (int64_t c = 0; c < width; ++c) r[k][c] = MapUnit(p, c, args);
    }
    const int64_t whole = n - n % SEJITS_REDUCE_LANES;
    for (int64_t i = SEJITS_REDUCE_LANES; i < whole; i += SEJITS_REDUCE_LANES) {
      for (int k = 0; k < SEJITS_REDUCE_LANES; ++k) {
        row(lo + i + k);
        Acc *lane = r[k];
        for (int64_t c = 0; c < width; ++c) lane[c] = Combine(lane[c], MapUnit(p, c, args));
      }
    }
    for (int64_t c = 0; c < width; ++c) {
      result[c] = Combine(Combine(Combine(r[0][c], r[1][c]), Combine(r[2][c], r[3][c])),
                          Combine(Combine(r[4][c], r[5][c]), Combine(r[6][c], r[7][c])));
    }
    for (int64_t i = whole; i < n; ++i) {
      row(lo + i);
      for (int64_t c = 0; c < width; ++c) result[c] = Combine(result[c], MapUnit(p, c, args));
    }
  }

  void row_tree(const int64_t *offsets, int64_t width, int64_t lo, int64_t n, Acc *result) const {
    if (n <= SEJITS_REDUCE_LEAF) {
      row_leaf(offsets, width, lo, n, result);
      return;
    }
    int64_t half = n / 2;
    half -= half % SEJITS_REDUCE_LANES;
    Acc upper[SEJITS_REDUCE_MAX_TILE];
    row_tree(offsets, width, lo, half, result);
    row_tree(offsets, width, lo + half, n - half, upper);
    for (int64_t c = 0; c < width; ++c) result[c] = Combine(result[c], upper[c]);
  }
};

/* The value of the tree over subtree values partials[*next...], in the
 * order sejits_reduce_subtrees listed them; `width` values per subtree, of
 * which the first `used` are columns. */
template <typename Acc, Acc (*Combine)(Acc, Acc)>
static inline void sejits_reduce_combine_partials(const Acc *partials, int64_t *next, int64_t n, int64_t cut,
                                                  int64_t width, int64_t used, Acc *result) {
  if (n <= cut || n <= SEJITS_REDUCE_LEAF) {
    for (int64_t c = 0; c < used; ++c) result[c] = partials[*next * width + c];
    ++*next;
    return;
  }
  int64_t half = n / 2;
  half -= half % SEJITS_REDUCE_LANES;
  Acc upper[SEJITS_REDUCE_MAX_TILE];
  sejits_reduce_combine_partials<Acc, Combine>(partials, next, half, cut, width, used, result);
  sejits_reduce_combine_partials<Acc, Combine>(partials, next, n - half, cut, width, used, upper);
  for (int64_t c = 0; c < used; ++c) result[c] = Combine(result[c], upper[c]);
}

/* The whole reduction: `start` is combined first with each result when
 * `has_start` (the identity of sum, prod, any and all, or the caller's
 * initial), and is the result of an empty reduction. `tile`: row-mode
 * columns per task; `threads`: the team. */
template <typename Acc, Acc (*Map)(const char **, const int64_t *, int64_t, const sejits_arg *),
          Acc (*MapUnit)(const char **, int64_t, const sejits_arg *), Acc (*Combine)(Acc, Acc)>
static inline int32_t sejits_reduce_run(const sejits_arg *args, int32_t nargs, int nred, Acc start, int has_start,
                                        int64_t tile, int64_t threads, char *error, int64_t error_len) {
  sejits_reduce_layout layout;
  if (sejits_reduce_layout_init(&layout, args, nargs, nred, 0, error, error_len) != 0) return 1;
  const sejits_reduce_loops<Acc, Map, MapUnit, Combine> loops = {&layout, args};
  const int nops = layout.noperands;
  const int64_t rows = layout.red_count;
  if (layout.kept_count == 0) return 0;
  if (rows == 0) {
    if (!has_start) return sejits_fail(error, error_len, "zero-size array to reduction operation which has no identity");
    for (int64_t g = 0; g < layout.kept_count; ++g) {
      int64_t offsets[SEJITS_REDUCE_OPERANDS + 1];
      sejits_reduce_kept_offsets(&layout, layout.nkept, g, offsets);
      *(Acc *)(layout.out + offsets[nops]) = start;
    }
    return 0;
  }
  const int serial = (args[nargs - 1].flags & SEJITS_CALL_SERIAL) || threads <= 1 ||
                     layout.kept_count * rows < SEJITS_REDUCE_PARALLEL_ELEMENTS;
  if (tile < 1 || tile > SEJITS_REDUCE_MAX_TILE) tile = SEJITS_REDUCE_MAX_TILE;
  /* Tasks: (kept group, column tile, subtree). Whole reductions per task when
   * the groups alone keep every thread busy; else subtrees of a length that
   * gives each thread several. The cut changes which subtrees are tasks, never the tree. */
  const int64_t ncols = layout.row_mode ? layout.kept_shape[layout.nkept - 1] : 1;
  const int64_t width = layout.row_mode ? (ncols < tile ? ncols : tile) : 1;
  const int64_t tiles = layout.row_mode ? (ncols + width - 1) / width : 1;
  const int64_t groups = layout.kept_count / ncols;
  int64_t cut = rows;
  if (!serial && groups * tiles < 4 * threads) {
    cut = rows / (8 * threads);
    if (cut < 64 * SEJITS_REDUCE_LEAF / width) cut = 64 * SEJITS_REDUCE_LEAF / width;
    if (cut < SEJITS_REDUCE_LEAF) cut = SEJITS_REDUCE_LEAF;
  }
  const int64_t nsub = sejits_reduce_subtrees(0, rows, cut, NULL, 0);
  int64_t *ranges = (int64_t *)malloc(sizeof(int64_t) * 2 * (size_t)nsub);
  Acc *partials = nsub > 1 ? (Acc *)malloc(sizeof(Acc) * (size_t)(groups * tiles * nsub * width)) : NULL;
  if (!ranges || (nsub > 1 && !partials)) {
    free(ranges);
    free(partials);
    return sejits_fail(error, error_len, "out of memory for the reduction's partial results");
  }
  sejits_reduce_subtrees(0, rows, cut, ranges, 0);
  const int group_dims = layout.row_mode ? layout.nkept - 1 : layout.nkept;
  const int64_t tasks = groups * tiles * nsub;
  const int64_t out_column_stride = layout.row_mode ? layout.kept_stride[nops][layout.nkept - 1] : 0;
  auto finish = [&](Acc value) { return has_start ? Combine(start, value) : value; };
#pragma omp parallel for schedule(dynamic, 1) num_threads(threads) if (!serial && tasks > 1)
  for (int64_t task = 0; task < tasks; ++task) {
    const int64_t sub = task % nsub, tile_index = (task / nsub) % tiles, group = task / (nsub * tiles);
    int64_t offsets[SEJITS_REDUCE_OPERANDS + 1];
    sejits_reduce_kept_offsets(&layout, group_dims, group, offsets);
    const int64_t lo = ranges[2 * sub], n = ranges[2 * sub + 1];
    if (!layout.row_mode) {
      const Acc value = loops.inner_tree(offsets, lo, n);
      if (nsub > 1) {
        partials[task] = value;
      } else {
        *(Acc *)(layout.out + offsets[nops]) = finish(value);
      }
      continue;
    }
    const int64_t col0 = tile_index * width, w = ncols - col0 < width ? ncols - col0 : width;
    for (int j = 0; j < nops; ++j) offsets[j] += col0 * layout.itemsize[j];
    Acc *result = nsub > 1 ? partials + task * width : NULL;
    Acc local[SEJITS_REDUCE_MAX_TILE];
    loops.row_tree(offsets, w, lo, n, result ? result : local);
    if (!result) {
      char *out = layout.out + offsets[nops] + col0 * out_column_stride;
      for (int64_t c = 0; c < w; ++c) *(Acc *)(out + c * out_column_stride) = finish(local[c]);
    }
  }
  if (nsub > 1) {
#pragma omp parallel for schedule(static) num_threads(threads) if (!serial && groups * tiles > 1)
    for (int64_t item = 0; item < groups * tiles; ++item) {
      const int64_t group = item / tiles, tile_index = item % tiles;
      int64_t offsets[SEJITS_REDUCE_OPERANDS + 1];
      sejits_reduce_kept_offsets(&layout, group_dims, group, offsets);
      const int64_t col0 = tile_index * width, w = layout.row_mode && ncols - col0 < width ? ncols - col0 : width;
      Acc combined[SEJITS_REDUCE_MAX_TILE];
      int64_t next = 0;
      sejits_reduce_combine_partials<Acc, Combine>(partials + item * nsub * width, &next, rows, cut, width, w, combined);
      char *out = layout.out + offsets[nops] + col0 * out_column_stride;
      for (int64_t c = 0; c < w; ++c) *(Acc *)(out + c * out_column_stride) = finish(combined[c]);
    }
  }
  free(ranges);
  free(partials);
  return 0;
}

/* Elements per task of an arg reduction's or a scan's split of one long range. */
#define SEJITS_REDUCE_CHUNK 65536
/* Values an arg reduction compares at once (one stack array, in L1). */
#define SEJITS_REDUCE_ARG_BLOCK 256

/* Whether `candidate` (later in the range) replaces `best` as the arg
 * reduction's answer: NumPy returns the first maximum (minimum), and the
 * first NaN if there is one. */
template <typename T, int IsMax>
static inline bool sejits_reduce_arg_better(T candidate, T best) {
  if (best != best) return false;
  if (candidate != candidate) return true;
  return IsMax ? candidate > best : candidate < best;
}

/* The larger (IsMax) or smaller of `value` and `peak`, ignoring a NaN `value`. */
template <typename T, int IsMax>
static inline T sejits_reduce_arg_peak(T value, T peak) {
  return IsMax ? (value > peak ? value : peak) : (value < peak ? value : peak);
}

/* argmax (IsMax) or argmin along the flat reduced index (C order of the
 * reduced dimensions); the output is int64. The answer is the first best
 * element whatever the split, so chunks are combined left to right. */
template <typename T, T (*Map)(const char **, const int64_t *, int64_t, const sejits_arg *),
          T (*MapUnit)(const char **, int64_t, const sejits_arg *), int IsMax>
static inline int32_t sejits_reduce_arg_run(const sejits_arg *args, int32_t nargs, int nred, int64_t threads,
                                            char *error, int64_t error_len) {
  sejits_reduce_layout layout;
  if (sejits_reduce_layout_init(&layout, args, nargs, nred, 0, error, error_len) != 0) return 1;
  const int nops = layout.noperands;
  const int64_t rows = layout.red_count, groups = layout.kept_count;
  if (groups == 0) return 0;
  if (rows == 0) return sejits_fail(error, error_len, IsMax ? "attempt to get argmax of an empty sequence"
                                                            : "attempt to get argmin of an empty sequence");
  const sejits_reduce_elements<T, Map, MapUnit> elements = {&layout, args};
  const int serial = (args[nargs - 1].flags & SEJITS_CALL_SERIAL) || threads <= 1 ||
                     groups * rows < SEJITS_REDUCE_PARALLEL_ELEMENTS;
  const int64_t chunks = serial || groups >= 4 * threads ? 1 : (rows + SEJITS_REDUCE_CHUNK - 1) / SEJITS_REDUCE_CHUNK;
  T *best = (T *)malloc(sizeof(T) * (size_t)(groups * chunks));
  int64_t *where = (int64_t *)malloc(sizeof(int64_t) * (size_t)(groups * chunks));
  if (!best || !where) {
    free(best);
    free(where);
    return sejits_fail(error, error_len, "out of memory for the arg reduction's partial results");
  }
  const int64_t chunk = (rows + chunks - 1) / chunks;
#pragma omp parallel for schedule(dynamic, 1) num_threads(threads) if (!serial && groups * chunks > 1)
  for (int64_t task = 0; task < groups * chunks; ++task) {
    const int64_t group = task / chunks, lo = (task % chunks) * chunk;
    const int64_t n = rows - lo < chunk ? rows - lo : chunk;
    int64_t offsets[SEJITS_REDUCE_OPERANDS + 1];
    sejits_reduce_kept_offsets(&layout, layout.nkept, group, offsets);
    T top = T();
    int64_t at = -1;
    /* Blocks of values: a block whose peak (a vectorized max or min) does not
     * beat the best so far, and holds no NaN, is skipped; otherwise it is
     * walked in order for the first element that beats it. A NaN found ends
     * the search: nothing after it wins. */
    T values[SEJITS_REDUCE_ARG_BLOCK];
    for (int64_t start = lo; start < lo + n && !(at >= 0 && top != top); start += SEJITS_REDUCE_ARG_BLOCK) {
      const int64_t m = lo + n - start < SEJITS_REDUCE_ARG_BLOCK ? lo + n - start : SEJITS_REDUCE_ARG_BLOCK;
      elements.visit(offsets, start, m, [&](int64_t i, T value) { values[i - start] = value; });
      /* The peak in SEJITS_REDUCE_LANES independent lanes (max and min are
       * exact, so any order gives the same peak): no loop-carried chain
       * through one compare and select per element. */
      T lane[SEJITS_REDUCE_LANES];
      int lane_nan[SEJITS_REDUCE_LANES];
      for (int q = 0; q < SEJITS_REDUCE_LANES; ++q) lane[q] = values[0], lane_nan[q] = 0;
      const int64_t whole = m - m % SEJITS_REDUCE_LANES;
      for (int64_t k = 0; k < whole; k += SEJITS_REDUCE_LANES) {
        for (int q = 0; q < SEJITS_REDUCE_LANES; ++q) {
          const T value = values[k + q];
          lane_nan[q] |= value != value;
          lane[q] = sejits_reduce_arg_peak<T, IsMax>(value, lane[q]);
        }
      }
      T peak = lane[0];
      int nan = lane_nan[0];
      for (int q = 1; q < SEJITS_REDUCE_LANES; ++q) nan |= lane_nan[q], peak = sejits_reduce_arg_peak<T, IsMax>(lane[q], peak);
      for (int64_t k = whole; k < m; ++k) nan |= values[k] != values[k], peak = sejits_reduce_arg_peak<T, IsMax>(values[k], peak);
      if (at >= 0 && !nan && !sejits_reduce_arg_better<T, IsMax>(peak, top)) continue;
      for (int64_t k = 0; k < m; ++k) {
        if (at < 0 || sejits_reduce_arg_better<T, IsMax>(values[k], top)) {
          top = values[k];
          at = start + k;
        }
      }
    }
    best[task] = top;
    where[task] = at;
  }
  for (int64_t group = 0; group < groups; ++group) {
    int64_t offsets[SEJITS_REDUCE_OPERANDS + 1];
    sejits_reduce_kept_offsets(&layout, layout.nkept, group, offsets);
    int64_t k = group * chunks, at = where[k];
    T top = best[k];
    for (int64_t c = 1; c < chunks; ++c) {
      if (where[k + c] >= 0 && sejits_reduce_arg_better<T, IsMax>(best[k + c], top)) {
        top = best[k + c];
        at = where[k + c];
      }
    }
    *(int64_t *)(layout.out + offsets[nops]) = at;
  }
  free(best);
  free(where);
  return 0;
}

template <typename T, T (*Map)(const char **, const int64_t *, int64_t, const sejits_arg *),
          T (*MapUnit)(const char **, int64_t, const sejits_arg *)>
static inline int32_t sejits_reduce_argmax_run(const sejits_arg *args, int32_t nargs, int nred, int64_t threads,
                                               char *error, int64_t error_len) {
  return sejits_reduce_arg_run<T, Map, MapUnit, 1>(args, nargs, nred, threads, error, error_len);
}

template <typename T, T (*Map)(const char **, const int64_t *, int64_t, const sejits_arg *),
          T (*MapUnit)(const char **, int64_t, const sejits_arg *)>
static inline int32_t sejits_reduce_argmin_run(const sejits_arg *args, int32_t nargs, int nred, int64_t threads,
                                               char *error, int64_t error_len) {
  return sejits_reduce_arg_run<T, Map, MapUnit, 0>(args, nargs, nred, threads, error, error_len);
}

/* Scans: elements per block of the fixed blocking. Element i of block b is
 * combine(offset[b], local), where local runs from the block's first element;
 * offset[1] = total[0] and offset[b + 1] = combine(offset[b], total[b]) (block
 * 0: local alone). A block's total is its SEJITS_SCAN_LANES lanes (lane k folds
 * elements k, k + LANES, ... in order) combined pairwise: independent chains,
 * several times faster than the running value's one. Serial and parallel scans
 * compute the same formula, so the bits do not depend on the thread count; the
 * blocks are a size, never a share of threads. The OpenCL scans use it too. */
#define SEJITS_SCAN_BLOCK 4096
#define SEJITS_SCAN_LANES 8
/* Blocks per thread per round of a long scan: a round's elements are read
 * once for the totals and again, from the thread's cache, for the scan. */
#define SEJITS_SCAN_ROUND_BLOCKS 8
/* Full blocks whose running values advance together. */
#define SEJITS_SCAN_LOCKSTEP 4

/* A scan (running sum, product, minimum or maximum) along the one scanned
 * dimension: the output has the kept dimensions, then that one. */
template <typename Acc, Acc (*Map)(const char **, const int64_t *, int64_t, const sejits_arg *),
          Acc (*MapUnit)(const char **, int64_t, const sejits_arg *), Acc (*Combine)(Acc, Acc)>
static inline int32_t sejits_scan_run(const sejits_arg *args, int32_t nargs, int64_t threads, char *error,
                                      int64_t error_len) {
  sejits_reduce_layout layout;
  if (sejits_reduce_layout_init(&layout, args, nargs, 1, 1, error, error_len) != 0) return 1;
  const int nops = layout.noperands;
  const int64_t rows = layout.red_count, groups = layout.kept_count, step = layout.out_scan_stride;
  if (groups == 0 || rows == 0) return 0;
  const sejits_reduce_elements<Acc, Map, MapUnit> elements = {&layout, args};
  const int serial = (args[nargs - 1].flags & SEJITS_CALL_SERIAL) || threads <= 1 ||
                     groups * rows < SEJITS_REDUCE_PARALLEL_ELEMENTS;
  const int64_t blocks = (rows + SEJITS_SCAN_BLOCK - 1) / SEJITS_SCAN_BLOCK;
  /* Scans the SEJITS_SCAN_LOCKSTEP full blocks from `block` into the output,
   * from their offsets, in lockstep (as scan_blocks does one block). */
  auto scan_lockstep = [&](const int64_t *offsets, int64_t block, const Acc *from) {
    constexpr int Q = SEJITS_SCAN_LOCKSTEP;
    int64_t starts[Q];
    char *out[Q];
    Acc running[Q];
    for (int q = 0; q < Q; ++q) {
      starts[q] = (block + q) * SEJITS_SCAN_BLOCK;
      out[q] = layout.out + offsets[nops] + starts[q] * step;
    }
    elements.template visit_lockstep<Q>(offsets, starts, 1, [&](int64_t, const Acc *value) {
      for (int q = 0; q < Q; ++q) running[q] = value[q], *(Acc *)out[q] = Combine(from[q], running[q]);
    });
    for (int q = 0; q < Q; ++q) starts[q] += 1, out[q] += step;
    elements.template visit_lockstep<Q>(offsets, starts, SEJITS_SCAN_BLOCK - 1, [&](int64_t i, const Acc *value) {
      for (int q = 0; q < Q; ++q) {
        running[q] = Combine(running[q], value[q]);
        *(Acc *)(out[q] + i * step) = Combine(from[q], running[q]);
      }
    });
  };
  /* Scans blocks [lo, hi) into the output, block b from offset[b - lo] where
   * has[b - lo] (block 0 has none). The first element starts the running
   * value, so that the loop's one dependence is Combine's. */
  auto scan_blocks = [&](const int64_t *offsets, int64_t lo, int64_t hi, const Acc *offset, const bool *has) {
    for (int64_t b = lo; b < hi; ++b) {
      if (b + SEJITS_SCAN_LOCKSTEP <= hi && (b + SEJITS_SCAN_LOCKSTEP) * SEJITS_SCAN_BLOCK <= rows && has[b - lo]) {
        scan_lockstep(offsets, b, offset + (b - lo));
        b += SEJITS_SCAN_LOCKSTEP - 1;
        continue;
      }
      const int64_t first = b * SEJITS_SCAN_BLOCK, n = rows - first < SEJITS_SCAN_BLOCK ? rows - first : SEJITS_SCAN_BLOCK;
      char *out = layout.out + offsets[nops] + first * step;
      Acc running = Acc();
      elements.visit(offsets, first, 1, [&](int64_t, Acc value) { running = value; });
      if (has[b - lo]) {
        const Acc from = offset[b - lo];
        *(Acc *)out = Combine(from, running);
        elements.visit(offsets, first + 1, n - 1, [&](int64_t i, Acc value) {
          running = Combine(running, value);
          *(Acc *)(out + (i - first) * step) = Combine(from, running);
        });
      } else {
        *(Acc *)out = running;
        elements.visit(offsets, first + 1, n - 1, [&](int64_t i, Acc value) {
          running = Combine(running, value);
          *(Acc *)(out + (i - first) * step) = running;
        });
      }
    }
  };
  /* The total of a full block (every block but the last, whose total is never an offset). */
  auto block_total = [&](const int64_t *offsets, int64_t block) {
    const int64_t lo = block * SEJITS_SCAN_BLOCK;
    Acc lane[SEJITS_SCAN_LANES];
    elements.visit(offsets, lo, SEJITS_SCAN_LANES, [&](int64_t i, Acc value) { lane[i - lo] = value; });
    for (int64_t at = lo + SEJITS_SCAN_LANES; at < lo + SEJITS_SCAN_BLOCK; at += SEJITS_SCAN_LANES) {
      elements.visit(offsets, at, SEJITS_SCAN_LANES, [&](int64_t i, Acc value) { lane[i - at] = Combine(lane[i - at], value); });
    }
    for (int width = SEJITS_SCAN_LANES / 2; width >= 1; width /= 2) {
      for (int k = 0; k < width; ++k) lane[k] = Combine(lane[k], lane[k + width]);
    }
    return lane[0];
  };
  /* Walks the totals of the round's blocks [first, first + count) in block
   * order from `carry` (the offset of block `first`; `carried`: it has one),
   * noting the offsets of blocks [lo, hi); leaves carry past the round. */
  auto walk = [&](int64_t first, int64_t count, const Acc *total, Acc &carry, bool &carried, int64_t lo, int64_t hi,
                  Acc *offset, bool *has) {
    for (int64_t b = first; b < first + count; ++b) {
      if (b >= lo && b < hi) offset[b - lo] = carry, has[b - lo] = carried;
      if (b + 1 < blocks) {
        carry = carried ? Combine(carry, total[b - first]) : total[b - first];
        carried = true;
      }
    }
  };
  if (serial || groups >= 2 * threads || blocks == 1) {
    /* Whole scans per thread, in rounds of SEJITS_SCAN_ROUND_BLOCKS blocks:
     * their totals, then the blocks again, from the cache. */
#pragma omp parallel for schedule(dynamic, 1) num_threads(threads) if (!serial && groups > 1)
    for (int64_t group = 0; group < groups; ++group) {
      int64_t offsets[SEJITS_REDUCE_OPERANDS + 1];
      sejits_reduce_kept_offsets(&layout, layout.nkept, group, offsets);
      Acc carry = Acc(), total[SEJITS_SCAN_ROUND_BLOCKS], offset[SEJITS_SCAN_ROUND_BLOCKS];
      bool carried = false, has[SEJITS_SCAN_ROUND_BLOCKS];
      for (int64_t first = 0; first < blocks; first += SEJITS_SCAN_ROUND_BLOCKS) {
        const int64_t count = blocks - first < SEJITS_SCAN_ROUND_BLOCKS ? blocks - first : SEJITS_SCAN_ROUND_BLOCKS;
        for (int64_t b = first; b < first + count && b + 1 < blocks; ++b) total[b - first] = block_total(offsets, b);
        walk(first, count, total, carry, carried, first, first + count, offset, has);
        scan_blocks(offsets, first, first + count, offset, has);
      }
    }
    return 0;
  }
  /* Few long scans, in rounds of SEJITS_SCAN_ROUND_BLOCKS blocks per thread:
   * each thread totals its blocks of the round, a barrier, then every thread
   * walks the round's totals in block order (the same offsets in each) and
   * scans its blocks again, now from its cache. The totals alternate between
   * two arrays, so that one barrier per round suffices: a thread writes a
   * round's totals only after every thread has finished the round before the
   * previous one. */
  Acc *totals = (Acc *)malloc(sizeof(Acc) * (size_t)(2 * threads * SEJITS_SCAN_ROUND_BLOCKS));
  if (!totals) return sejits_fail(error, error_len, "out of memory for the scan's block totals");
#pragma omp parallel num_threads(threads)
  {
    const int64_t me = omp_get_thread_num(), team = omp_get_num_threads(), span = team * SEJITS_SCAN_ROUND_BLOCKS;
    int64_t round = 0;
    for (int64_t group = 0; group < groups; ++group) {
      int64_t offsets[SEJITS_REDUCE_OPERANDS + 1];
      sejits_reduce_kept_offsets(&layout, layout.nkept, group, offsets);
      Acc carry = Acc(), offset[SEJITS_SCAN_ROUND_BLOCKS];
      bool carried = false, has[SEJITS_SCAN_ROUND_BLOCKS];
      for (int64_t first = 0; first < blocks; first += span, ++round) {
        Acc *total = totals + (round & 1) * span;
        const int64_t count = blocks - first < span ? blocks - first : span;
        const int64_t lo = first + count * me / team, hi = first + count * (me + 1) / team;
        for (int64_t b = lo; b < hi && b + 1 < blocks; ++b) total[b - first] = block_total(offsets, b);
#pragma omp barrier
        walk(first, count, total, carry, carried, lo, hi, offset, has);
        scan_blocks(offsets, lo, hi, offset, has);
      }
    }
  }
  free(totals);
  return 0;
}

#endif /* SEJITS_REDUCE_RUNTIME_H */
