// Private: how the agent's threads live through faults (an exception from the store, GStreamer,
// ZeroMQ): logged without flooding the log, survived, and given up on only when they persist.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>

#include <spdlog/spdlog.h>

namespace loa::node::detail {

/// One per thread. fault() on every exception caught, success() after every round that had
/// none. A streak of faults with no success in between for `give_up_after_us` means the thread
/// cannot do its work: fault() then says to give up, so that the agent stops and exits non-zero
/// and its service manager starts it afresh. Times are steady-clock microseconds.
class FaultGuard {
  public:
    FaultGuard(std::string thread, std::int64_t give_up_after_us)
        : thread_(std::move(thread)), give_up_after_us_(give_up_after_us) {}

    /// Records a fault; true when the thread should give up.
    bool fault(std::int64_t now_us, std::string_view what) {
        ++faults_;
        if (failing_since_us_ == 0) {
            failing_since_us_ = now_us;
            last_logged_us_ = now_us;
            unlogged_ = 0;
            spdlog::error("{} thread: {} (caught; the agent goes on)", thread_, what);
        } else if (now_us - last_logged_us_ >= kLogEveryUs) {
            spdlog::error("{} thread: {} (and {} more faults since; failing for {:.0f} s)", thread_,
                          what, unlogged_, static_cast<double>(now_us - failing_since_us_) / 1e6);
            last_logged_us_ = now_us;
            unlogged_ = 0;
        } else {
            ++unlogged_;
        }
        if (give_up_after_us_ > 0 && now_us - failing_since_us_ >= give_up_after_us_) {
            reason_ = std::string(what);
            spdlog::critical(
                "{} thread failing for {:.0f} s without a success: the agent stops (exit 3) so "
                "that its service manager starts it afresh; last fault: {}",
                thread_, static_cast<double>(now_us - failing_since_us_) / 1e6, what);
            return true;
        }
        return false;
    }

    void success() {
        if (failing_since_us_ != 0) {
            spdlog::info("{} thread works again after {} fault(s)", thread_, faults_);
            failing_since_us_ = 0;
            faults_ = 0;
        }
    }

    /// The fault it gave up on.
    const std::string& reason() const { return reason_; }

  private:
    static constexpr std::int64_t kLogEveryUs = 10'000'000;

    std::string thread_;
    std::int64_t give_up_after_us_;
    std::int64_t failing_since_us_ = 0;  ///< 0: not failing
    std::int64_t last_logged_us_ = 0;
    std::uint64_t faults_ = 0;
    std::uint64_t unlogged_ = 0;
    std::string reason_;
};

/// Steady-clock microseconds, for fault streaks (the wall clock may jump under NTP).
inline std::int64_t steady_us() {
    return std::chrono::duration_cast<std::chrono::microseconds>(
               std::chrono::steady_clock::now().time_since_epoch())
        .count();
}

}  // namespace loa::node::detail
