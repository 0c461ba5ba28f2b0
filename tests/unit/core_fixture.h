// A SpecializerCore over a test's own cache directory, with the real compiler.
#pragma once

#include <filesystem>
#include <memory>

#include <catch2/catch.hpp>

#include "server/core/specializer_core.h"

namespace sejits::testing {

inline std::unique_ptr<server::SpecializerCore> create_core(const std::filesystem::path &cache_dir) {
  server::CoreConfig config;
  config.cache_dir = cache_dir;
  config.compile_jobs = 2;
  auto core = server::SpecializerCore::create(config);
  REQUIRE(core.ok());
  return std::move(*core);
}

}  // namespace sejits::testing
