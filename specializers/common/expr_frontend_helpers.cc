// Calls of the kernel's helper functions (plain Python functions it calls,
// shipped in FunctionAst.helpers): the arguments are bound to the helper's
// parameters as Python binds them (positional, keyword, defaults) and its
// body is translated with the caller's values, so the call leaves no trace
// in the IR. A helper may call others; recursion cannot be inlined and is
// reported with the chain of calls.
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "specializers/common/expr_frontend.h"

namespace sejits::specializers {

SourceContext source_context(const v1::FunctionAst &function, const std::string &kind) {
  SourceContext context{function.filename(), absl::StrCat(kind, " '", function.name().substr(0, 64), "'")};
  for (const v1::FunctionAst &helper : function.helpers()) context.helpers.emplace(helper.name(), &helper);
  return context;
}
namespace {

constexpr size_t kMaxInliningDepth = 32;

// "file.py:12"
std::string where(const std::string &filename, int line) {
  return absl::StrCat(filename.empty() ? "<kernel>" : filename, ":", line);
}

}  // namespace

const v1::FunctionAst *ExprFrontend::find_helper(const std::string &qualified) const {
  auto it = context_.helpers.find(qualified);
  return it == context_.helpers.end() ? nullptr : it->second;
}

absl::StatusOr<Values> ExprFrontend::inline_helper(const v1::FunctionAst &helper, const v1::Call &call,
                                                   const Environment &environment, int line) {
  const std::string &name = helper.name();
  for (const InlinedCall &active : inlining_) {
    if (active.helper != name) continue;
    std::vector<std::string> chain;
    for (const InlinedCall &call_site : inlining_) {
      chain.push_back(absl::StrCat("'", call_site.helper, "' (called at ", where(call_site.filename, call_site.line), ")"));
    }
    chain.push_back(absl::StrCat("'", name, "' again (at ", where(context_.filename, line), ")"));
    return error(line, absl::StrCat("recursion: ", absl::StrJoin(chain, " calls "),
                                    "; sejits inlines helper functions, so a kernel cannot call them recursively"));
  }
  if (inlining_.size() >= kMaxInliningDepth) {
    return error(line, absl::StrCat("helper functions nest more than ", kMaxInliningDepth, " calls deep"));
  }
  // Bind the call's arguments to the parameters, as Python does.
  const int nparams = helper.args_size();
  std::vector<const v1::Expr *> bound(nparams, nullptr);
  if (call.args_size() > nparams) {
    return error(line, absl::StrCat("'", name, "' takes ", nparams, " positional argument", nparams == 1 ? "" : "s", " but ",
                                    call.args_size(), (call.args_size() == 1 ? " was" : " were"), " given"));
  }
  for (int k = 0; k < call.args_size(); ++k) bound[k] = &call.args(k);
  for (const auto &keyword : call.keywords()) {
    int index = -1;
    for (int k = 0; k < nparams; ++k) {
      if (helper.args(k).name() == keyword.arg()) index = k;
    }
    if (index < 0) return error(line, absl::StrCat("'", name, "' got an unexpected keyword argument '", keyword.arg(), "'"));
    if (bound[index] != nullptr) return error(line, absl::StrCat("'", name, "' got multiple values for argument '", keyword.arg(), "'"));
    bound[index] = &keyword.value();
  }
  Environment locals;
  for (int k = 0; k < nparams; ++k) {
    const v1::Argument &parameter = helper.args(k);
    absl::StatusOr<NodeRef> value;
    if (bound[k] != nullptr) {
      value = translate_expr(*bound[k], environment);
    } else if (parameter.has_default_value()) {
      value = translate_expr(parameter.default_value(), Environment{});
    } else {
      return error(line, absl::StrCat("'", name, "' is missing the argument '", parameter.name(), "'"));
    }
    if (!value.ok()) return value.status();
    locals[parameter.name()] = *value;
  }
  // The helper's body, with its own file in messages.
  std::vector<const v1::Stmt *> stmts;
  for (const auto &stmt : helper.body()) stmts.push_back(&stmt);
  inlining_.push_back({name, context_.filename, line});
  std::string caller_file = context_.filename;
  context_.filename = helper.filename();
  absl::StatusOr<Values> values = translate_block(stmts, std::move(locals), 0, helper.pos().line());
  context_.filename = caller_file;
  inlining_.pop_back();
  return values;
}

}  // namespace sejits::specializers
