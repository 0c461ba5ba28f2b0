// The cache key of a request: a digest over tagged fields, so that no two
// fields can collide and every input of the generated code is covered. A
// library kernel (no AST) is keyed by its specializer, version, params and
// the arguments' part its specializer names.
#pragma once

#include <string>

#include "specializers/request.h"
#include "specializers/specializer.h"

namespace sejits::server {

struct KeyContext {
  std::string specializer_version;
  std::string compiler_identity;  // compiler, version, flags, host CPU
  std::string runtime_digest;     // kernel ABI + runtime headers
  std::string march;              // the compile target: "native" or the worker's level
  // The request's specializer, which says what of the arguments the key
  // holds; null: looked up by the request's name.
  const specializers::Specializer *specializer = nullptr;
};

std::string request_key(const specializers::SpecializationRequest &request, const KeyContext &context);

// The function's AST without positions and names that do not change the
// generated code, serialized deterministically.
std::string canonical_ast_bytes(const v1::FunctionAst &function);

}  // namespace sejits::server
