// The hook worker: one thread, a bounded queue, one run per hook at a time.
#include "hook_runner.hpp"

#include <fmt/core.h>
#include <spdlog/spdlog.h>

#include "hook_command.hpp"

namespace loa::node::detail {

HookRunner::HookRunner(std::size_t max_queued) : max_queued_(max_queued) {}

HookRunner::~HookRunner() {
    stop();
}

std::expected<void, std::string> HookRunner::submit(const std::string& hook,
                                                    const std::string& command_template,
                                                    std::map<std::string, std::string> values,
                                                    std::chrono::milliseconds timeout, Done done) {
    std::lock_guard lock(mutex_);
    if (stopping_) {
        return std::unexpected(
            std::string("tác tử đang tắt: không chạy hook / the agent is shutting down: no hook "
                        "is run"));
    }
    if (running_ == hook) {
        const auto for_s = std::chrono::duration_cast<std::chrono::seconds>(
                               std::chrono::steady_clock::now() - running_since_)
                               .count();
        const auto limit_s = running_timeout_.count() / 1000;
        return std::unexpected(fmt::format(
            "hook {0} đang chạy cho một lệnh trước ({1} s, tối đa {2} s): lệnh này không được "
            "thực hiện, hãy gửi lại khi hook xong / the {0} hook is still running for an "
            "earlier command ({1} s so far, at most {2} s): this command was not carried out; "
            "send it again when that one has finished",
            hook, for_s, limit_s));
    }
    for (const auto& queued : queue_) {
        if (queued.hook == hook) {
            return std::unexpected(fmt::format(
                "hook {0} đã có một lệnh đang chờ chạy: lệnh này không được thực hiện / the {0} "
                "hook already has a command waiting to run: this command was not carried out",
                hook));
        }
    }
    if (queue_.size() >= max_queued_) {
        return std::unexpected(fmt::format(
            "đã có {0} hook đang chờ chạy: hook {1} không được chạy / {0} hooks are already "
            "waiting to run: the {1} hook was not run",
            queue_.size(), hook));
    }
    queue_.push_back(Job{hook, command_template, std::move(values), timeout, std::move(done)});
    if (!thread_.joinable()) {
        thread_ = std::thread([this] { loop(); });
    }
    wake_.notify_one();
    return {};
}

void HookRunner::stop() {
    {
        std::lock_guard lock(mutex_);
        stopping_ = true;
        queue_.clear();
    }
    wake_.notify_all();
    if (thread_.joinable()) {
        thread_.join();
    }
}

void HookRunner::loop() {
    while (true) {
        Job job;
        {
            std::unique_lock lock(mutex_);
            wake_.wait(lock, [&] { return stopping_.load() || !queue_.empty(); });
            if (stopping_) {
                return;
            }
            job = std::move(queue_.front());
            queue_.pop_front();
            running_ = job.hook;
            running_since_ = std::chrono::steady_clock::now();
            running_timeout_ = job.timeout;
        }
        // Nothing may end this thread but stop(): a hook that cannot be spawned is an outcome,
        // and what `done` throws (the store, a full disk) is logged; the controller sends the
        // command again since no result was stored.
        try {
            auto ran = run_hook(job.command_template, job.values, job.timeout, &stopping_);
            if (!stopping_) {
                job.done(std::move(ran));
            }
        } catch (const std::exception& e) {
            spdlog::error("hook {}: its outcome was not recorded: {}", job.hook, e.what());
        } catch (...) {
            spdlog::error("hook {}: its outcome was not recorded: an unknown exception", job.hook);
        }
        std::lock_guard lock(mutex_);
        running_.reset();
    }
}

}  // namespace loa::node::detail
