// Request keys: every input of the generated code is in the key, and nothing
// else. The rank of an array is an input of OpenCL kernels only (the C++
// kernels take any rank).
#include <string>

#include <catch2/catch.hpp>

#include "server/core/request_key.h"

namespace sejits::server {
namespace {

specializers::SpecializationRequest square_of_float64(int32_t rank, const std::string &platform) {
  specializers::SpecializationRequest request;
  request.specializer = "elementwise";
  request.platform = platform;
  specializers::ArgSpec array;
  array.kind = specializers::ArgKind::kArray;
  array.dtype_code = 11;  // float64
  array.rank = rank;
  array.shape.assign(rank, 3);
  request.args = {array};
  return request;
}

TEST_CASE("OpenCL keys include each array's rank", "[request_key]") {
  const KeyContext context{"elementwise-test", "g++|test", "runtime"};
  const std::string rank_1 = request_key(square_of_float64(1, "opencl"), context);
  CHECK(rank_1 != request_key(square_of_float64(2, "opencl"), context));
  CHECK(rank_1 != request_key(square_of_float64(0, "opencl"), context));
  CHECK(rank_1 == request_key(square_of_float64(1, "opencl"), context));
}

TEST_CASE("C++ keys do not depend on the rank", "[request_key]") {
  const KeyContext context{"elementwise-test", "g++|test", "runtime"};
  const std::string rank_1 = request_key(square_of_float64(1, "cpu-openmp"), context);
  CHECK(rank_1 == request_key(square_of_float64(3, "cpu-openmp"), context));
  CHECK(rank_1 != request_key(square_of_float64(1, "opencl"), context));
}

}  // namespace
}  // namespace sejits::server
