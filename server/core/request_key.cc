#include "server/core/request_key.h"

#include "absl/strings/str_cat.h"
#include "codegen/include/sejits/kernel_abi.h"
#include "codegen/sha256.h"
#include "google/protobuf/io/coded_stream.h"
#include "google/protobuf/io/zero_copy_stream_impl_lite.h"
#include "google/protobuf/reflection.h"
#include "specializers/common/opencl_lowering.h"

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
  hasher.add("ast", request.function ? canonical_ast_bytes(*request.function) : "");
  // The C++ kernels take arrays of any rank; OpenCL kernels are generated for
  // the ranks they are called with, so there the rank is part of the key.
  const bool rank_specific = request.platform == specializers::kOpenClPlatform;
  std::string args;
  for (const auto &arg : request.args) {
    absl::StrAppend(&args, static_cast<int>(arg.kind), ":", arg.dtype_code, ":", arg.weak ? "w" : "s");
    if (rank_specific && arg.kind == specializers::ArgKind::kArray) absl::StrAppend(&args, ":r", arg.rank);
    absl::StrAppend(&args, ";");
  }
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
