#pragma once

namespace sejits::server {
inline constexpr char kSejitsVersion[] = "0.1.0";
}
