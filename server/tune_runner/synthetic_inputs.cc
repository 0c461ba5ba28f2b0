#include "server/tune_runner/synthetic_inputs.h"

#include <cstdint>

namespace sejits::tune_runner {
namespace {

constexpr size_t kAlignment = 64;

// splitmix64: fast, and the same sequence on every machine.
class Random {
 public:
  explicit Random(uint64_t seed) : state_(seed) {}
  uint64_t next() {
    uint64_t z = (state_ += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
  }

 private:
  uint64_t state_;
};

// Values k * 2^-bits + 0.5 with k < 2^bits are exact in T (bits = mantissa
// bits), so rounding cannot reach 1.5.
template <typename T, int kBits>
void fill_floats(void *buffer, int64_t count, Random &random) {
  T *values = static_cast<T *>(buffer);
  const T scale = T(1) / T(uint64_t{1} << kBits);
  for (int64_t i = 0; i < count; ++i) {
    values[i] = T(0.5) + T(random.next() >> (64 - kBits)) * scale;
  }
}

template <typename T>
void fill_ints(void *buffer, int64_t count, Random &random) {
  T *values = static_cast<T *>(buffer);
  for (int64_t i = 0; i < count; ++i) values[i] = static_cast<T>(1 + random.next() % 7);
}

void fill(const ArgSpec &spec, void *buffer, Random &random) {
  const int64_t n = spec.element_count;
  switch (spec.dtype) {
    case SEJITS_BOOL: {
      uint8_t *values = static_cast<uint8_t *>(buffer);
      for (int64_t i = 0; i < n; ++i) values[i] = 1;
      return;
    }
    case SEJITS_INT8:
      return fill_ints<int8_t>(buffer, n, random);
    case SEJITS_INT16:
      return fill_ints<int16_t>(buffer, n, random);
    case SEJITS_INT32:
      return fill_ints<int32_t>(buffer, n, random);
    case SEJITS_INT64:
      return fill_ints<int64_t>(buffer, n, random);
    case SEJITS_UINT8:
      return fill_ints<uint8_t>(buffer, n, random);
    case SEJITS_UINT16:
      return fill_ints<uint16_t>(buffer, n, random);
    case SEJITS_UINT32:
      return fill_ints<uint32_t>(buffer, n, random);
    case SEJITS_UINT64:
      return fill_ints<uint64_t>(buffer, n, random);
    case SEJITS_FLOAT32:
      return fill_floats<float, 23>(buffer, n, random);
    case SEJITS_FLOAT64:
      return fill_floats<double, 52>(buffer, n, random);
  }
}

sejits_arg describe_array(const ArgSpec &spec, void *data) {
  sejits_arg arg{};
  arg.data = data;
  arg.kind = SEJITS_ARG_ARRAY;
  arg.dtype = spec.dtype;
  arg.rank = static_cast<int32_t>(spec.shape.size());
  int64_t stride = spec.itemsize;
  for (int d = arg.rank - 1; d >= 0; --d) {
    arg.shape[d] = spec.shape[d];
    arg.strides[d] = stride;
    if (spec.shape[d] != 0) stride *= spec.shape[d];  // as NumPy does; parse_arg_spec checked it fits
  }
  return arg;
}

sejits_arg describe_scalar(const ArgSpec &spec) {
  sejits_arg arg{};
  arg.kind = SEJITS_ARG_SCALAR;
  arg.dtype = spec.dtype;
  arg.scalar = spec.scalar;
  return arg;
}

}  // namespace

std::optional<SyntheticInputs> SyntheticInputs::create(const std::vector<ArgSpec> &specs, std::string *error) {
  SyntheticInputs inputs;
  for (size_t index = 0; index < specs.size(); ++index) {
    const ArgSpec &spec = specs[index];
    if (spec.kind == SEJITS_ARG_SCALAR) {
      inputs.descriptors_.push_back(describe_scalar(spec));
      continue;
    }
    // Empty arrays still get a buffer, so that no kernel sees a null data pointer.
    size_t bytes = static_cast<size_t>(spec.element_count * spec.itemsize);
    size_t rounded = (bytes + kAlignment - 1) / kAlignment * kAlignment;
    if (rounded == 0) rounded = kAlignment;
    void *buffer = std::aligned_alloc(kAlignment, rounded);
    if (!buffer) {
      *error = "cannot allocate " + std::to_string(bytes) + " bytes for argument " + std::to_string(index);
      return std::nullopt;
    }
    inputs.buffers_.emplace_back(buffer);
    Random random(0x5e1175 + index);
    fill(spec, buffer, random);
    inputs.descriptors_.push_back(describe_array(spec, buffer));
  }
  return inputs;
}

}  // namespace sejits::tune_runner
