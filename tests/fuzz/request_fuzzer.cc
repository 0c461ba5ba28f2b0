// libFuzzer target: bytes -> sejits.v1.SpecializeRequest -> from_proto ->
// run_pipeline, for the one specializer named by SEJITS_FUZZ_SPECIALIZER (so
// each target spends its time in its own front end). The generated source is
// not compiled: the pipeline up to printing is what a client controls.
#include <cstddef>
#include <cstdint>

#include "google/protobuf/stubs/logging.h"
#include "server/rpc/convert.h"
#include "specializers/pipeline.h"
#include "spdlog/spdlog.h"

#ifndef SEJITS_FUZZ_SPECIALIZER
#error "define SEJITS_FUZZ_SPECIALIZER (tests/fuzz/CMakeLists.txt does)"
#endif

extern "C" int LLVMFuzzerInitialize(int *, char ***) {
  spdlog::set_level(spdlog::level::off);  // rejections are expected, not news
  google::protobuf::SetLogHandler(nullptr);  // nor is invalid UTF-8 in a string field
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  sejits::v1::SpecializeRequest proto;
  if (!proto.ParseFromArray(data, static_cast<int>(size))) return -1;  // not a message: keep out of the corpus
  proto.set_specializer(SEJITS_FUZZ_SPECIALIZER);
  auto request = sejits::server::rpc::from_proto(proto);
  if (!request.ok()) return 0;
  // Any status is fine; a crash, a sanitizer report, a hang or a blow-up is not.
  (void)sejits::specializers::run_pipeline(*request);
  return 0;
}
