// The domain IR of the sparse-matrix specializer ("sparse"): a library
// kernel with no user AST. Its two arguments, a CSR matrix's data and
// indices, fix the value and index types; the params choose the operation:
// "products" (y = A x and one iteration of conjugate gradients) or "powers"
// (the matrix powers kernel for k and a basis). The matrix's size and
// pattern stay runtime data: the analysis of its structure (blocks, ghost
// zones) is an argument of every powers call, never compiled in. The
// arithmetic is sejits/sparse_runtime.h's.
#pragma once

#include <cstdint>
#include <string>

#include "absl/strings/str_cat.h"
#include "specializers/common/dtype.h"
#include "specializers/specializer.h"

namespace sejits::specializers::sparse {

inline constexpr char kName[] = "sparse";

enum class Operation { kProducts, kPowers };
// Numbered as sejits_sparse::Basis.
enum class Basis { kMonomial = 0, kNewton = 1, kChebyshev = 2 };
const char *basis_name(Basis basis);

// The largest k a powers kernel is generated for.
inline constexpr int64_t kMaxPowers = 64;

// Entry points by role, beyond "call" (y = A x for products, V for powers).
inline constexpr char kCgIterationRole[] = "cg_iteration";

struct SparseIr : DomainIr {
  DType dtype = DType::kFloat64;        // of the values
  DType index_dtype = DType::kInt32;    // of indices and indptr
  Operation operation = Operation::kProducts;
  int64_t k = 0;                        // powers
  Basis basis = Basis::kMonomial;       // powers

  std::string describe() const override {
    const std::string types = absl::StrCat(dtype_name(dtype), " values, ", dtype_name(index_dtype), " indices");
    if (operation == Operation::kProducts) return absl::StrCat(kName, "(products, ", types, ")");
    return absl::StrCat(kName, "(powers k=", k, ", ", basis_name(basis), " basis, ", types, ")");
  }
};

}  // namespace sejits::specializers::sparse
