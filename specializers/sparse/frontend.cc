#include "specializers/sparse/frontend.h"

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "specializers/common/variant_params.h"

namespace sejits::specializers::sparse {
namespace {

constexpr char kOperationParam[] = "operation";
constexpr char kPowersParam[] = "k";
constexpr char kBasisParam[] = "basis";

absl::Status refuse(const std::string &why) { return absl::InvalidArgumentError(absl::StrCat(kName, ": ", why)); }

std::string dtype_text(int code) {
  return is_supported_dtype(code) ? dtype_name(static_cast<DType>(code)) : absl::StrCat("code ", code);
}

absl::Status check_vector(const ArgSpec &arg, const char *name, DType first, DType second) {
  if (arg.kind != ArgKind::kArray || arg.rank != 1) return refuse(absl::StrCat("argument ", name, " must be a 1-D array"));
  if (arg.dtype_code != static_cast<int>(first) && arg.dtype_code != static_cast<int>(second)) {
    return refuse(absl::StrCat("argument ", name, " must be ", dtype_name(first), " or ", dtype_name(second), ", not ",
                               dtype_text(arg.dtype_code)));
  }
  return absl::OkStatus();
}

std::string param(const std::map<std::string, std::string> &params, const char *name, const char *otherwise) {
  auto found = params.find(name);
  return found == params.end() ? otherwise : found->second;
}

}  // namespace

const char *basis_name(Basis basis) {
  switch (basis) {
    case Basis::kMonomial: return "monomial";
    case Basis::kNewton: return "newton";
    case Basis::kChebyshev: return "chebyshev";
  }
  return "monomial";
}

absl::StatusOr<std::unique_ptr<SparseIr>> build_sparse_ir(const SpecializationRequest &request) {
  if (request.function) return refuse("a library kernel takes params, not a function's AST (the request carries one)");
  if (request.args.size() != 2 && request.args.size() != 3) {
    return refuse(absl::StrCat("takes a CSR matrix's data, indices and (for its matrix class) indptr; the request has ",
                               request.args.size(), " arguments"));
  }
  absl::Status checked = check_vector(request.args[0], "data", DType::kFloat32, DType::kFloat64);
  if (checked.ok()) checked = check_vector(request.args[1], "indices", DType::kInt32, DType::kInt64);
  if (checked.ok() && request.args.size() == 3) {
    const auto index = static_cast<DType>(request.args[1].dtype_code);
    checked = check_vector(request.args[2], "indptr", index, index);
  }
  if (!checked.ok()) return checked;
  for (const auto &[name, value] : request.params) {
    if (name != kOperationParam && name != kPowersParam && name != kBasisParam && !is_variant_param(name)) {
      return refuse(absl::StrCat("unknown param '", name.substr(0, 64), "' (known: operation, k, basis)"));
    }
  }
  auto ir = std::make_unique<SparseIr>();
  ir->dtype = static_cast<DType>(request.args[0].dtype_code);
  ir->index_dtype = static_cast<DType>(request.args[1].dtype_code);
  const std::string operation = param(request.params, kOperationParam, "products");
  if (operation == "products") {
    if (request.params.count(kPowersParam) || request.params.count(kBasisParam)) {
      return refuse("params 'k' and 'basis' belong to operation 'powers'");
    }
    return ir;
  }
  if (operation != "powers") return refuse(absl::StrCat("param 'operation' must be 'products' or 'powers', not '", operation.substr(0, 40), "'"));
  ir->operation = Operation::kPowers;
  const std::string k = param(request.params, kPowersParam, "");
  if (!absl::SimpleAtoi(k, &ir->k) || ir->k < 1 || ir->k > kMaxPowers) {
    return refuse(absl::StrCat("param 'k' must be an integer from 1 to ", kMaxPowers, ", not '", k.substr(0, 40), "'"));
  }
  const std::string basis = param(request.params, kBasisParam, "monomial");
  for (Basis candidate : {Basis::kMonomial, Basis::kNewton, Basis::kChebyshev}) {
    if (basis == basis_name(candidate)) {
      ir->basis = candidate;
      return ir;
    }
  }
  return refuse(absl::StrCat("param 'basis' must be 'monomial', 'newton' or 'chebyshev', not '", basis.substr(0, 40), "'"));
}

}  // namespace sejits::specializers::sparse
