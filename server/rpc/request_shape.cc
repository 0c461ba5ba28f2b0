#include "server/rpc/request_shape.h"

#include <vector>

#include "absl/strings/str_cat.h"

namespace sejits::server::rpc {
namespace {

using google::protobuf::Descriptor;
using google::protobuf::FieldDescriptor;

enum WireType { kVarint = 0, kFixed64 = 1, kLengthDelimited = 2, kStartGroup = 3, kEndGroup = 4, kFixed32 = 5 };

// One message being read: its type, where its bytes end, and whether it is
// a node of the syntax tree.
struct Frame {
  const Descriptor *type;
  size_t end;
  bool ast_node;
};

class WireWalker {
 public:
  WireWalker(absl::string_view bytes, const RequestLimits &limits) : bytes_(bytes), limits_(limits) {}

  absl::StatusOr<RequestShape> walk(const Descriptor &type) {
    std::vector<Frame> stack = {{&type, bytes_.size(), false}};
    while (!stack.empty()) {
      if (position_ == stack.back().end) {
        if (stack.back().ast_node) --ast_depth_;
        stack.pop_back();
        continue;
      }
      uint64_t tag = 0;
      if (!read_varint(tag, stack.back().end)) return malformed();
      const Frame &frame = stack.back();
      const FieldDescriptor *field = frame.type->FindFieldByNumber(static_cast<int>(tag >> 3));
      switch (tag & 7) {
        case kVarint: {
          uint64_t value = 0;
          if (!read_varint(value, frame.end)) return malformed();
          if (field && field->name() == "line" && frame.type->name() == "Position") line_ = static_cast<int64_t>(value);
          break;
        }
        case kFixed64:
          if (!skip(8, frame.end)) return malformed();
          break;
        case kFixed32:
          if (!skip(4, frame.end)) return malformed();
          break;
        case kLengthDelimited: {
          uint64_t length = 0;
          if (!read_varint(length, frame.end) || length > frame.end - position_) return malformed();
          if (field && field->type() == FieldDescriptor::TYPE_MESSAGE) {
            absl::Status entered = enter(field->message_type(), position_ + length, stack);
            if (!entered.ok()) return entered;
            break;
          }
          if (field && (field->type() == FieldDescriptor::TYPE_STRING || field->type() == FieldDescriptor::TYPE_BYTES)) {
            absl::Status checked = check_string(*frame.type, *field, length);
            if (!checked.ok()) return checked;
          }
          position_ += length;  // text, or packed numbers
          break;
        }
        default:  // groups: not used by sejits.v1
          return malformed();
      }
    }
    return shape_;
  }

 private:
  absl::Status enter(const Descriptor *type, size_t end, std::vector<Frame> &stack) {
    const bool ast_node = type->full_name() == "sejits.v1.Expr" || type->full_name() == "sejits.v1.Stmt";
    if (ast_node) {
      if (++shape_.ast_nodes > limits_.max_ast_nodes) {
        return refuse(absl::StrCat("the kernel has more than ", limits_.max_ast_nodes,
                                   " syntax-tree nodes (--max_ast_nodes)"));
      }
      if (++ast_depth_ > limits_.max_ast_depth) {
        return refuse(absl::StrCat("the kernel nests expressions and statements more than ", limits_.max_ast_depth,
                                   " levels deep (--max_ast_depth)"));
      }
      shape_.ast_depth = std::max(shape_.ast_depth, ast_depth_);
    }
    stack.push_back({type, end, ast_node});
    shape_.message_depth = std::max(shape_.message_depth, static_cast<int>(stack.size()));
    return absl::OkStatus();
  }

  absl::Status check_string(const Descriptor &type, const FieldDescriptor &field, uint64_t length) {
    if (field.name() == "filename" && type.name() == "FunctionAst") {
      filename_ = std::string(bytes_.substr(position_, std::min<uint64_t>(length, 200)));
    }
    if (static_cast<int64_t>(length) > limits_.max_string_bytes) {
      return refuse(absl::StrCat(type.name(), ".", field.name(), " is ", length, " bytes long (at most ",
                                 limits_.max_string_bytes, ": --max_string_bytes)"));
    }
    shape_.longest_string = std::max(shape_.longest_string, static_cast<int64_t>(length));
    return absl::OkStatus();
  }

  // "file.py:12: message" once the kernel's file and a line were seen.
  absl::Status refuse(const std::string &message) const {
    std::string where = filename_.empty() ? "" : absl::StrCat(filename_, ":", line_, ": ");
    return absl::InvalidArgumentError(absl::StrCat(where, message));
  }

  absl::Status malformed() const {
    return absl::InvalidArgumentError(absl::StrCat("the request is not a valid sejits.v1.SpecializeRequest (truncated or "
                                                   "corrupt bytes at offset ", position_, " of ", bytes_.size(), ")"));
  }

  bool read_varint(uint64_t &value, size_t end) {
    value = 0;
    for (int shift = 0; shift < 64; shift += 7) {
      if (position_ >= end) return false;
      uint8_t byte = static_cast<uint8_t>(bytes_[position_++]);
      value |= static_cast<uint64_t>(byte & 0x7f) << shift;
      if ((byte & 0x80) == 0) return true;
    }
    return false;
  }

  bool skip(size_t count, size_t end) {
    if (count > end - position_) return false;
    position_ += count;
    return true;
  }

  absl::string_view bytes_;
  const RequestLimits &limits_;
  size_t position_ = 0;
  int ast_depth_ = 0;
  int64_t line_ = 0;
  std::string filename_;
  RequestShape shape_;
};

}  // namespace

absl::StatusOr<RequestShape> measure_request(absl::string_view bytes, const Descriptor &type, const RequestLimits &limits) {
  if (static_cast<int64_t>(bytes.size()) > limits.max_request_bytes) {
    return absl::ResourceExhaustedError(absl::StrCat("the request is ", bytes.size(), " bytes (at most ",
                                                     limits.max_request_bytes, ": --max_request_bytes)"));
  }
  return WireWalker(bytes, limits).walk(type);
}

}  // namespace sejits::server::rpc
