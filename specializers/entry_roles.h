// The roles of a kernel's entry points that tuning distinguishes: the shape
// class of a call names the role it times.
#pragma once

namespace sejits::specializers {

inline constexpr char kCallRole[] = "call";        // one application of the kernel
inline constexpr char kIterateRole[] = "iterate";  // a stencil's repeated sweeps

}  // namespace sejits::specializers
