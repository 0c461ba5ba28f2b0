#include "server/core/request_key.h"

#include <mutex>
#include <unordered_map>

#include "absl/strings/str_cat.h"
#include "codegen/include/sejits/kernel_abi.h"
#include "codegen/sha256.h"
#include "google/protobuf/io/coded_stream.h"
#include "google/protobuf/io/zero_copy_stream_impl_lite.h"
#include "google/protobuf/reflection.h"
#include "specializers/common/argument_key.h"
#include "specializers/registry.h"

namespace sejits::server {
namespace {

// Clears every Position below `message`, iteratively (ASTs can be deep).
void clear_positions(google::protobuf::Message *root) {
  std::vector<google::protobuf::Message *> pending = {root};
  while (!pending.empty()) {
    google::protobuf::Message *message = pending.back();
    pending.pop_back();
    const auto *reflection = message->GetReflection();
    std::vector<const google::protobuf::FieldDescriptor *> fields;
    reflection->ListFields(*message, &fields);
    for (const auto *field : fields) {
      if (field->type() != google::protobuf::FieldDescriptor::TYPE_MESSAGE) continue;
      if (field->message_type() == v1::Position::descriptor()) {
        reflection->ClearField(message, field);
        continue;
      }
      if (field->is_repeated()) {
        for (int i = 0; i < reflection->FieldSize(*message, field); ++i) {
          pending.push_back(reflection->MutableRepeatedMessage(message, field, i));
        }
      } else {
        pending.push_back(reflection->MutableMessage(message, field));
      }
    }
  }
}

// canonical_ast_bytes copies the AST and walks it by reflection; a cached
// kernel arrives with the same AST on every call, so its canonical bytes are
// remembered by its wire bytes (which determine them).
class CanonicalAstMemo {
 public:
  std::string canonical(const v1::FunctionAst &function) {
    std::string wire;
    if (!function.SerializeToString(&wire) || wire.size() > kMaxAstBytes) return canonical_ast_bytes(function);
    {
      std::lock_guard lock(mutex_);
      if (auto found = memo_.find(wire); found != memo_.end()) return found->second;
    }
    std::string bytes = canonical_ast_bytes(function);
    std::lock_guard lock(mutex_);
    if (held_bytes_ + wire.size() + bytes.size() > kMaxHeldBytes) {
      memo_.clear();
      held_bytes_ = 0;
    }
    held_bytes_ += wire.size() + bytes.size();
    memo_.emplace(std::move(wire), bytes);
    return bytes;
  }

 private:
  static constexpr size_t kMaxAstBytes = 64 << 10, kMaxHeldBytes = 8 << 20;
  std::mutex mutex_;
  std::unordered_map<std::string, std::string> memo_;  // wire bytes -> canonical bytes
  size_t held_bytes_ = 0;
};

}  // namespace

std::string canonical_ast_bytes(const v1::FunctionAst &function) {
  v1::FunctionAst canonical = function;
  canonical.clear_name();
  canonical.clear_filename();
  clear_positions(&canonical);
  std::string bytes;
  google::protobuf::io::StringOutputStream stream(&bytes);
  google::protobuf::io::CodedOutputStream coded(&stream);
  coded.SetSerializationDeterministic(true);
  canonical.SerializeToCodedStream(&coded);
  coded.Trim();
  return bytes;
}

std::string request_key(const specializers::SpecializationRequest &request, const KeyContext &context) {
  codegen::TaggedHasher hasher;
  hasher.add("specializer", request.specializer);
  hasher.add("specializer_version", context.specializer_version);
  static CanonicalAstMemo *const memo = new CanonicalAstMemo;  // never destroyed: used until exit
  // A library kernel has no AST: its own tag, so that it never shares a key
  // with a request that carries an (empty) function.
  if (request.function) {
    hasher.add("ast", memo->canonical(*request.function));
  } else {
    hasher.add("no_ast", "");
  }
  // What of the arguments the generated code depends on is the domain's to
  // say; an unknown specializer (refused later) gets the most specific text.
  const specializers::Specializer *specializer =
      context.specializer ? context.specializer : specializers::find_specializer(request.specializer);
  const std::string args = specializer ? specializer->argument_key(request) : specializers::argument_key_text(request.args, true);
  hasher.add("args", args);
  std::string params;
  for (const auto &[name, value] : request.params) absl::StrAppend(&params, name.size(), ":", name, "=", value.size(), ":", value, ";");
  hasher.add("params", params);
  hasher.add("target", request.platform);
  hasher.add("compiler", context.compiler_identity);
  hasher.add("march", context.march);
  hasher.add("abi", absl::StrCat(SEJITS_ABI_VERSION, ":", context.runtime_digest));
  return hasher.hex_digest();
}

}  // namespace sejits::server
