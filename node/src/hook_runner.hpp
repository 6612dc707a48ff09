// Private: the worker that runs the technician's hooks off the session thread, one run of a hook
// at a time, from a bounded queue.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <expected>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

namespace loa::node::detail {

/// A hook (run_hook) may take as long as its timeout, and a relay board that hangs takes all of
/// it: run on the session's thread it stopped heartbeats, acks and downloads for that long. This
/// worker runs them instead; the caller learns the outcome through `done`.
class HookRunner {
  public:
    /// Called on the worker's thread with the hook's outcome; what it throws is logged.
    using Done = std::function<void(std::expected<void, std::string>)>;

    /// At most `max_queued` runs waiting behind the one that runs.
    explicit HookRunner(std::size_t max_queued = 4);
    ~HookRunner();
    HookRunner(const HookRunner&) = delete;
    HookRunner& operator=(const HookRunner&) = delete;

    /// Queues a run of `command_template` (see run_hook) as hook `hook`. Refused at once, with
    /// a reason for people, when a run of the same hook is queued or running (a second switch
    /// of one relay must not race the first) or the queue is full; `done` is then never called.
    std::expected<void, std::string> submit(const std::string& hook,
                                            const std::string& command_template,
                                            std::map<std::string, std::string> values,
                                            std::chrono::milliseconds timeout, Done done);

    /// Kills the run in progress, forgets the queue (their `done` is never called: the
    /// controller sends an unanswered command again after the restart) and ends the worker.
    void stop();

  private:
    struct Job {
        std::string hook;
        std::string command_template;
        std::map<std::string, std::string> values;
        std::chrono::milliseconds timeout{0};
        Done done;
    };

    void loop();

    const std::size_t max_queued_;
    std::mutex mutex_;
    std::condition_variable wake_;
    std::deque<Job> queue_;
    /// The hook running and since when (steady clock); guarded by mutex_.
    std::optional<std::string> running_;
    std::chrono::steady_clock::time_point running_since_;
    std::chrono::milliseconds running_timeout_{0};
    std::atomic<bool> stopping_{false};
    std::thread thread_;  ///< started by the first submit
};

}  // namespace loa::node::detail
