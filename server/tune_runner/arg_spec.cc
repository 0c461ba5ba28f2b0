#include "server/tune_runner/arg_spec.h"

#include <charconv>
#include <cmath>
#include <limits>
#include <system_error>
#include <vector>

namespace sejits::tune_runner {
namespace {

struct DtypeInfo {
  std::string_view name;
  sejits_dtype code;
  int64_t itemsize;
  char kind;           // 'b', 'i', 'u' or 'f', as NumPy's dtype.kind
  int64_t min_value;   // signed ints and bool
  uint64_t max_value;  // all integer dtypes
};

DtypeInfo dtype_info(std::string_view name, sejits_dtype code, int64_t itemsize, char kind) {
  DtypeInfo info{name, code, itemsize, kind, 0, 0};
  const int bits = static_cast<int>(8 * itemsize);
  if (kind == 'b') info.max_value = 1;
  if (kind == 'u') info.max_value = bits == 64 ? UINT64_MAX : (uint64_t{1} << bits) - 1;
  if (kind == 'i') {
    info.min_value = bits == 64 ? INT64_MIN : -(int64_t{1} << (bits - 1));
    info.max_value = bits == 64 ? INT64_MAX : (uint64_t{1} << (bits - 1)) - 1;
  }
  return info;
}

// The kernel ABI's dtype table (SEJITS_DTYPES), with each integer dtype's range.
const std::vector<DtypeInfo> &dtypes() {
  static const std::vector<DtypeInfo> table = {
#define SEJITS_RUNNER_DTYPE(NAME, CODE, TEXT, SIZE, KIND) dtype_info(TEXT, SEJITS_##NAME, SIZE, KIND),
      SEJITS_DTYPES(SEJITS_RUNNER_DTYPE)
#undef SEJITS_RUNNER_DTYPE
  };
  return table;
}

const DtypeInfo *find_dtype(std::string_view name) {
  for (const DtypeInfo &info : dtypes()) {
    if (info.name == name) return &info;
  }
  return nullptr;
}

std::string dtype_names() {
  std::string names;
  for (const DtypeInfo &info : dtypes()) {
    if (!names.empty()) names += ", ";
    names += info.name;
  }
  return names;
}

// The whole of `text` as a number (from_chars alone accepts a prefix).
template <typename T>
std::optional<T> parse_number(std::string_view text) {
  T value{};
  const char *end = text.data() + text.size();
  auto [stop, failure] = std::from_chars(text.data(), end, value);
  if (text.empty() || failure != std::errc() || stop != end) return std::nullopt;
  return value;
}

std::string quoted(std::string_view text) { return "\"" + std::string(text) + "\""; }

bool parse_shape(std::string_view dims, ArgSpec &spec, std::string *error) {
  spec.shape.clear();
  if (dims.empty()) return true;  // rank 0
  while (true) {
    size_t cross = dims.find('x');
    std::string_view dim_text = dims.substr(0, cross);
    std::optional<int64_t> dim = parse_number<int64_t>(dim_text);
    if (!dim || *dim < 0) {
      *error = "dimension " + quoted(dim_text) + " is not a non-negative integer";
      return false;
    }
    if (*dim > kMaxDimension) {
      *error = "dimension " + std::to_string(*dim) + " exceeds 2^40";
      return false;
    }
    if (static_cast<int>(spec.shape.size()) == SEJITS_MAX_RANK) {
      *error = "rank exceeds SEJITS_MAX_RANK (" + std::to_string(SEJITS_MAX_RANK) + ")";
      return false;
    }
    spec.shape.push_back(*dim);
    if (cross == std::string_view::npos) return true;
    dims.remove_prefix(cross + 1);
  }
}

// Checks the size bound. Strides follow NumPy's C order, in which a zero
// dimension counts as one, so an empty array must still have strides that fit
// in int64.
bool check_size(ArgSpec &spec, std::string *error) {
  const std::string too_big = "array exceeds the limit of " + std::to_string(kMaxArrayBytes >> 30) + " GiB per array";
  bool empty = false;
  int64_t span = spec.itemsize;  // bytes, with zero dimensions counted as one
  for (int64_t dim : spec.shape) {
    if (dim == 0) {
      empty = true;
      continue;
    }
    if (__builtin_mul_overflow(span, dim, &span)) {
      *error = empty ? "the strides of this empty array overflow int64" : too_big;
      return false;
    }
  }
  if (!empty && span > kMaxArrayBytes) {
    *error = too_big + " (" + std::to_string(span) + " bytes)";
    return false;
  }
  spec.element_count = empty ? 0 : span / spec.itemsize;
  return true;
}

bool parse_scalar_value(std::string_view text, const DtypeInfo &info, ArgSpec &spec, std::string *error) {
  if (info.kind == 'f') {
    std::optional<double> value = parse_number<double>(text);
    if (!value) {
      *error = "scalar value " + quoted(text) + " is not a number";
      return false;
    }
    spec.scalar.f = *value;
    return true;
  }
  const std::string range = "a " + std::string(info.name) + " (" + std::to_string(info.min_value) + ".." +
                            std::to_string(info.max_value) + ")";
  if (info.kind == 'u') {
    std::optional<uint64_t> value = parse_number<uint64_t>(text);
    if (!value || *value > info.max_value) {
      *error = "scalar value " + quoted(text) + " is not " + range;
      return false;
    }
    spec.scalar.u = *value;
    return true;
  }
  std::optional<int64_t> value = parse_number<int64_t>(text);
  // Signed dtypes and bool: max_value fits in int64.
  if (!value || *value < info.min_value || *value > static_cast<int64_t>(info.max_value)) {
    *error = "scalar value " + quoted(text) + " is not " + range;
    return false;
  }
  spec.scalar.i = *value;
  return true;
}

}  // namespace

std::optional<ArgSpec> parse_arg_spec(std::string_view text, std::string *error) {
  const std::string context = "bad argument " + quoted(text) + ": ";
  size_t first = text.find(':');
  size_t second = first == std::string_view::npos ? first : text.find(':', first + 1);
  if (second == std::string_view::npos) {
    *error = context + "expected array:<dtype>:<d0>x<d1>x... or scalar:<dtype>:<value>";
    return std::nullopt;
  }
  std::string_view kind = text.substr(0, first);
  std::string_view dtype_name = text.substr(first + 1, second - first - 1);
  std::string_view rest = text.substr(second + 1);

  ArgSpec spec;
  if (kind == "array") {
    spec.kind = SEJITS_ARG_ARRAY;
  } else if (kind == "scalar") {
    spec.kind = SEJITS_ARG_SCALAR;
  } else {
    *error = context + "unknown kind " + quoted(kind) + " (expected array or scalar)";
    return std::nullopt;
  }
  const DtypeInfo *info = find_dtype(dtype_name);
  if (!info) {
    *error = context + "unknown dtype " + quoted(dtype_name) + " (expected one of " + dtype_names() + ")";
    return std::nullopt;
  }
  spec.dtype = info->code;
  spec.itemsize = info->itemsize;

  std::string detail;
  if (spec.kind == SEJITS_ARG_SCALAR) {
    if (!parse_scalar_value(rest, *info, spec, &detail)) {
      *error = context + detail;
      return std::nullopt;
    }
    return spec;
  }
  if (!parse_shape(rest, spec, &detail)) {
    *error = context + "bad shape " + quoted(rest) + ": " + detail;
    return std::nullopt;
  }
  if (!check_size(spec, &detail)) {
    *error = context + detail;
    return std::nullopt;
  }
  return spec;
}

}  // namespace sejits::tune_runner
