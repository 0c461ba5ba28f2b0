#include "specializers/registry.h"

#include <map>
#include <memory>

#include "specializers/elementwise/factory.h"
#include "specializers/stencil/factory.h"

namespace sejits::specializers {
namespace {

const std::map<std::string, std::unique_ptr<Specializer>> &registry() {
  static const auto *specializers = [] {
    auto *map = new std::map<std::string, std::unique_ptr<Specializer>>;
    for (auto factory : {make_elementwise_specializer, make_stencil_specializer}) {
      auto specializer = factory();
      std::string name = specializer->name();
      map->emplace(name, std::move(specializer));
    }
    return map;
  }();
  return *specializers;
}

}  // namespace

const Specializer *find_specializer(const std::string &name) {
  auto it = registry().find(name);
  return it == registry().end() ? nullptr : it->second.get();
}

std::vector<std::string> specializer_names() {
  std::vector<std::string> names;
  for (const auto &[name, specializer] : registry()) names.push_back(name);
  return names;
}

}  // namespace sejits::specializers
