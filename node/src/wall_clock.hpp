// Private: the node's one reading of the wall clock, UTC microseconds (what confirmations carry).
#pragma once

#include <chrono>
#include <cstdint>

namespace loa::node::detail {

inline std::int64_t now_us() {
    return std::chrono::duration_cast<std::chrono::microseconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
}

}  // namespace loa::node::detail
