#include "specializers/common/variant_params.h"

#include "absl/status/status.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"

namespace sejits::specializers {
namespace cg = codegen;

std::map<std::string, std::string> default_variant_request_params(const tuner::TuningSpace &space,
                                                                  const tuner::Variant &variant) {
  std::map<std::string, std::string> params;
  for (const tuner::TuningParameter &parameter : space.parameters) {
    auto value = variant.find(parameter.name);
    if (value != variant.end() && value->second != parameter.default_value) params[variant_param(parameter.name)] = value->second;
  }
  return params;
}

const char *thread_count_name(ThreadCount threads) {
  switch (threads) {
    case ThreadCount::kAll: return "all";
    case ThreadCount::kHalf: return "half";
    case ThreadCount::kOne: return "1";
  }
  return "all";
}

absl::Status bad_variant_value(const std::string &specializer, const std::string &name, const std::string &value,
                               const std::string &expected) {
  return absl::InvalidArgumentError(
      absl::StrCat(specializer, " variant ", name.substr(0, 48), "=", value.substr(0, 32), ": expected ", expected));
}

absl::StatusOr<bool> parse_variant_flag(const std::string &specializer, const std::string &name, const std::string &value) {
  if (value == "1" || value == "true") return true;
  if (value == "0" || value == "false") return false;
  return bad_variant_value(specializer, name, value, "0 or 1");
}

absl::StatusOr<int64_t> parse_variant_int(const std::string &specializer, const std::string &name, const std::string &value,
                                          int64_t min, int64_t max) {
  int64_t parsed = 0;
  if (!absl::SimpleAtoi(value, &parsed) || parsed < min || parsed > max) {
    return bad_variant_value(specializer, name, value, absl::StrCat("an integer from ", min, " to ", max));
  }
  return parsed;
}

absl::StatusOr<ThreadCount> parse_thread_count(const std::string &specializer, const std::string &name,
                                               const std::string &value) {
  if (value == "all") return ThreadCount::kAll;
  if (value == "half") return ThreadCount::kHalf;
  if (value == "1") return ThreadCount::kOne;
  return bad_variant_value(specializer, name, value, "all, half or 1");
}

codegen::StmtPtr declare_thread_count(ThreadCount threads) {
  cg::ExprPtr all = cg::cast(cg::scalar_type(cg::CType::kInt), cg::call(cg::Callee::kMaxThreads, {}));
  cg::ExprPtr count = all;
  if (threads == ThreadCount::kHalf) {
    count = cg::binary(cg::BinaryOp::kDiv, cg::binary(cg::BinaryOp::kAdd, all, cg::int_literal(1)), cg::int_literal(2));
  } else if (threads == ThreadCount::kOne) {
    count = cg::int_literal(1);
  }
  return cg::decl(cg::scalar_type(cg::CType::kInt, true), kThreadCountVar, count);
}

}  // namespace sejits::specializers
