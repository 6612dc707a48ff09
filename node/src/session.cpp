// The node's session: hello, timelines, chunked media download, outbox delivery, heartbeats.
#include "loa/node/session.hpp"

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <limits>
#include <map>
#include <random>
#include <set>

#include <fmt/core.h>
#include <spdlog/spdlog.h>

#include "clock_offset.hpp"
#include "device_status.hpp"
#include "fault_guard.hpp"
#include "loa/protocol/envelope.hpp"
#include "loa/protocol/limits.hpp"
#include "wall_clock.hpp"

namespace loa::node {

namespace {

/// An unanswered HELLO is said again after 2 s, then 4, 8 … up to 60 s, each ±25 %: after a
/// controller restart thousands of nodes must not retry in lockstep.
constexpr std::int64_t kHelloRetryUs = 2'000'000;
constexpr std::int64_t kHelloRetryMaxUs = 60'000'000;
constexpr std::int64_t kReportRetryUs = 3'000'000;
constexpr std::int64_t kMediaScanUs = 1'000'000;
/// A changed media status goes out at most this often; progress alone, this often.
constexpr std::int64_t kStatusMinGapUs = 1'000'000;
constexpr std::int64_t kProgressEveryUs = 15'000'000;
constexpr int kReportBatch = 200;
/// Done plays, acked commands and ended emergencies are forgotten after this long.
constexpr std::int64_t kKeepHistoryUs = 3LL * 86'400'000'000;
constexpr std::int64_t kPruneEveryUs = 600'000'000;
constexpr std::uint32_t kMaxLogBytes = 1u << 20;
/// While the store holds something in memory (a full disk), it tries to write it this often.
constexpr std::int64_t kFlushEveryUs = 2'000'000;
/// Less free space than this on the data disk is a full disk, whatever the store managed last:
/// a few plays' confirmations and one WAL checkpoint need about this much.
constexpr std::uint64_t kDiskFullBelowBytes = 1u << 20;
/// The controller reads emergency play numbers up to a million (emergency:<id>:<n>).
constexpr std::uint32_t kMaxEmergencyPlays = 1'000'000;

std::string iso_time(std::int64_t us) {
    const std::time_t seconds = static_cast<std::time_t>(us / 1'000'000);
    std::tm tm{};
    gmtime_r(&seconds, &tm);
    return fmt::format("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}Z", tm.tm_year + 1900, tm.tm_mon + 1,
                       tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
}

}  // namespace

Session::Session(const AgentOptions& options, NodeStore& store, media::ContentStore& media,
                 AgentControl& agent, zmq::context_t* context)
    : options_(options),
      store_(store),
      media_(media),
      agent_(agent),
      own_context_(context ? nullptr : std::make_unique<zmq::context_t>(1)),
      dealer_(context ? *context : *own_context_, zmq::socket_type::dealer),
      heartbeat_interval_us_(options.heartbeat_interval_ms * 1000),
      seen_rebuilds_(store.rebuilds()),
      clock_(std::make_unique<detail::ClockOffset>()),
      fetcher_(media, options.fetch, [this](wire::Envelope e) { return send(std::move(e)); }) {
    dealer_.set(zmq::sockopt::linger, 0);
    // Nothing is queued for a controller that is not there: every message is rebuilt from the
    // store when the session is back, so a queue would only deliver stale duplicates.
    dealer_.set(zmq::sockopt::immediate, 1);
    // libzmq waits reconnect_ivl plus a random share of it, doubling up to the maximum: a
    // jittered exponential backoff, so a restarted controller is not hit by every node at once.
    dealer_.set(zmq::sockopt::reconnect_ivl, 1'000);
    dealer_.set(zmq::sockopt::reconnect_ivl_max, 30'000);
    if (!options_.controller_key.empty()) {
        dealer_.set(zmq::sockopt::curve_serverkey, options_.controller_key);
        dealer_.set(zmq::sockopt::curve_publickey, options_.keys.public_key);
        dealer_.set(zmq::sockopt::curve_secretkey, options_.keys.secret_key);
    }
    // libzmq drops the connection on a bigger frame before allocating it.
    dealer_.set(zmq::sockopt::maxmsgsize,
                static_cast<std::int64_t>(protocol::kMaxControllerFrameBytes +
                                          protocol::kTransportOverheadBytes));
    dealer_.connect(options_.controller);
}

Session::~Session() = default;

std::int64_t Session::now_us() const {
    return detail::now_us() + options_.clock_shift_us;
}

void Session::run(const std::atomic<bool>& stop) {
    spdlog::info("node {} connecting to {}", options_.node_id, options_.controller);
    detail::FaultGuard faults("session", options_.give_up_after_us);
    while (!stop.load() && !agent_.restart_requested() && !agent_.given_up()) {
        zmq::pollitem_t items[] = {{dealer_.handle(), 0, ZMQ_POLLIN, 0}};
        try {
            zmq::poll(items, 1, std::chrono::milliseconds(50));
        } catch (const zmq::error_t& e) {
            if (e.num() != EINTR) {
                throw;
            }
            continue;  // a signal (SIGTERM): look at the stop flag
        }
        // A fault handling a message or a timer (the store, a full disk) is logged and the
        // session goes on: what was not done is done again by the protocol's own retries
        // (unacked messages are sent again, so are hellos and reports). A message that threw
        // leaves the others queued in the socket for the next round.
        bool faulted = false;
        auto caught = [&](std::string_view where, std::string_view what) {
            faulted = true;
            if (faults.fault(detail::steady_us(), fmt::format("{}: {}", where, what))) {
                agent_.give_up(faults.reason());
            }
        };
        try {
            receive();
        } catch (const std::exception& e) {
            caught("a message from the controller", e.what());
        } catch (...) {
            caught("a message from the controller", "an unknown exception");
        }
        try {
            tick();
        } catch (const std::exception& e) {
            caught("timers", e.what());
        } catch (...) {
            caught("timers", "an unknown exception");
        }
        if (!faulted) {
            faults.success();
        }
    }
}

int Session::receive() {
    int received = 0;
    while (true) {
        zmq::message_t frame;
        if (!dealer_.recv(frame, zmq::recv_flags::dontwait)) {
            return received;
        }
        while (frame.more()) {  // one frame per message; drop anything trailing
            zmq::message_t extra;
            (void)dealer_.recv(extra);
            if (!extra.more()) {
                break;
            }
        }
        ++received;
        if (incoming_) {
            incoming_(frame.to_string());
        } else {
            deliver(frame.to_string_view());
        }
    }
}

void Session::deliver(std::string_view frame) {
    last_heard_us_ = now_us();
    on_frame(frame);
}

void Session::set_link(Outgoing outgoing, Incoming incoming) {
    outgoing_ = std::move(outgoing);
    incoming_ = std::move(incoming);
}

bool Session::transmit(std::string_view frame) {
    try {
        // With ZMQ_IMMEDIATE a send fails (EAGAIN) while there is no connection.
        return dealer_.send(zmq::buffer(frame), zmq::send_flags::dontwait).has_value();
    } catch (const zmq::error_t& e) {
        spdlog::warn("send failed: {}", e.what());
        return false;
    }
}

bool Session::send(wire::Envelope envelope) {
    envelope.set_message_id(next_message_id_++);
    // HELLO says which version this agent speaks; the rest use the version WELCOME accepted.
    const std::uint32_t version = envelope.has_hello() ? protocol::kProtocolVersion : version_;
    std::string bytes = protocol::encode(std::move(envelope), version);
    const bool sent = outgoing_ ? outgoing_(std::move(bytes)) : transmit(bytes);
    stats_.unsent += sent ? 0 : 1;
    return sent;
}

void Session::send_hello() {
    last_hello_us_ = now_us();
    std::uniform_real_distribution<double> jitter(0.75, 1.25);
    next_hello_us_ = last_hello_us_ + static_cast<std::int64_t>(
                                          static_cast<double>(hello_retry_us_) * jitter(random_));
    hello_retry_us_ = std::min(hello_retry_us_ * 2, kHelloRetryMaxUs);
    wire::Envelope out;
    auto* hello = out.mutable_hello();
    hello->set_node_id(options_.node_id);
    hello->set_agent_version(kAgentVersion);
    hello->set_timeline_hash(store_.timeline_hash());
    hello->set_node_time_us(now_us());
    ++stats_.hellos;
    send(std::move(out));
}

void Session::tick() {
    std::int64_t now = now_us();
    if (const auto rebuilds = store_.rebuilds(); rebuilds != seen_rebuilds_) {
        // The store was started afresh from a damaged file: its timeline is gone, and the
        // numbering must be settled by a WELCOME before anything new is reported.
        seen_rebuilds_ = rebuilds;
        next_media_scan_us_ = 0;
        if (welcomed_) {
            spdlog::warn("the node store was started afresh: saying hello again");
            welcomed_ = false;
            fetcher_.on_session_lost();
            hello_retry_us_ = kHelloRetryUs;
            next_hello_us_ = 0;
        }
    }
    if (now >= next_flush_us_) {
        next_flush_us_ = now + kFlushEveryUs;
        if (store_.holding()) {
            store_.flush();
        }
    }
    if (!welcomed_) {
        if (!revoked_ && now >= next_hello_us_) {
            send_hello();
        }
        return;
    }
    // Three heartbeats without a word from the controller: the session is gone; start over.
    if (now - last_heard_us_ > 3 * heartbeat_interval_us_) {
        spdlog::warn("controller silent for 3 heartbeats; saying hello again");
        ++stats_.sessions_lost;
        ++stats_.sessions_given_up;
        welcomed_ = false;
        fetcher_.on_session_lost();
        return;
    }
    if (now - last_heartbeat_us_ > heartbeat_interval_us_) {
        send_heartbeat(now);
    }
    // The outbox is read when a play was confirmed since, and every 3 s to send again what is
    // not acked; not on every tick of an idle node.
    const std::uint64_t confirmed = store_.outbox_generation();
    if (now - last_report_us_ > kReportRetryUs || confirmed != report_generation_) {
        last_report_us_ = now;
        report_generation_ = confirmed;
        auto pending = store_.outbox(kReportBatch);
        if (!pending.empty()) {
            wire::Envelope out;
            for (auto& c : pending) {
                *out.mutable_playback_report()->add_confirmations() = std::move(c);
            }
            if (send(std::move(out))) {
                ++stats_.reports;
                stats_.confirmations_sent += pending.size();
            }
        }
    }
    // A hook's result is stored by the hook worker when it ends: sent at once, not at the retry.
    const std::uint64_t results = store_.command_results_generation();
    if (now - last_results_us_ > kReportRetryUs || results != results_generation_) {
        results_generation_ = results;
        send_command_results();
    }
    if (now >= next_prune_us_) {
        prune_and_evict(now);
    }
    fetch_media(now);
}

std::int64_t Session::runway_end(NodeStore& store, const media::ContentStore& media) {
    std::int64_t end = store.horizon_end_us();
    std::map<std::string, bool> ready;
    for (const auto& slot : store.pending_slots()) {
        if (slot.start_us() >= end) {
            break;
        }
        auto [it, fresh] = ready.try_emplace(slot.media_hash(), false);
        if (fresh) {
            it->second = media.contains(slot.media_hash());
        }
        if (!it->second) {
            end = slot.start_us();
            break;
        }
    }
    return end;
}

void Session::send_heartbeat(std::int64_t now) {
    last_heartbeat_us_ = now;
    wire::Envelope out;
    auto* hb = out.mutable_heartbeat();
    const auto playing = agent_.now_playing();
    hb->set_state(playing.state);
    hb->set_current_slot_id(playing.slot_id);
    hb->set_current_title(playing.title);
    hb->set_outbox_pending(static_cast<std::uint32_t>(store_.outbox_size()));
    auto media = fetcher_.status();
    hb->set_media_missing(static_cast<std::uint32_t>(
        std::count_if(media.items().begin(), media.items().end(),
                      [](const wire::MediaItem& m) { return m.state() != wire::MEDIA_READY; })));
    hb->set_volume_percent(
        static_cast<std::uint32_t>(std::stoi(store_.setting("volume").value_or("100"))));
    hb->set_amplifier_on(store_.setting("amplifier").value_or("on") == "on");
    const auto device = detail::read_device_status(options_.data_dir);
    hb->set_storage_free_bytes(device.storage_free_bytes);
    const auto health = store_.health();
    const auto free = detail::free_bytes(options_.data_dir);
    hb->set_store_full(health.full || (free && *free < kDiskFullBelowBytes));
    hb->set_confirmations_held(health.held);
    hb->set_store_rebuilt_us(health.rebuilt_us);
    if (device.cpu_temp_millicelsius) {
        hb->set_cpu_temp_millicelsius(*device.cpu_temp_millicelsius);
    }
    hb->set_link_interface(device.link_interface);
    hb->set_link_type(device.link_type);
    if (device.link_signal_dbm) {
        hb->set_link_signal_dbm(*device.link_signal_dbm);
    }
    if (auto clock = clock_->best()) {
        hb->set_clock_offset_us(clock->offset_us);
        hb->set_clock_round_trip_us(clock->round_trip_us);
    }
    hb->set_agent_version(kAgentVersion);
    hb->set_schedule_horizon_end_us(store_.horizon_end_us());
    hb->set_runway_end_us(runway_end(store_, media_));
    hb->set_last_seq(store_.last_seq());
    const ClockUse clock_use = agent_.clock_use(now);
    hb->set_clock_state(clock_use.state);
    hb->set_clock_age_us(clock_use.age_us);
    // t1 as late as possible: everything above took time that is not on the wire.
    hb->set_node_time_us(now_us());
    stats_.heartbeats += send(std::move(out)) ? 1 : 0;
}

void Session::on_heartbeat_ack(const wire::HeartbeatAck& ack) {
    const std::int64_t t4 = now_us();
    ++stats_.heartbeat_acks;
    clock_->add(ack.node_time_us(), ack.controller_receive_us(), ack.controller_send_us(), t4);
    const auto best = clock_->best();
    if (!best) {
        return;
    }
    // The best of the recent exchanges, re-established by this one: what plays start by.
    agent_.clock_measured(best->offset_us, t4);
    if (std::llabs(best->offset_us) > detail::kUntrustedOffsetUs) {
        spdlog::error(
            "clock is {:+.0f} s off the controller's, over 1 h: not corrected and booked plays are "
            "held; fix the system clock (chrony or systemd-timesyncd, the RTC battery)",
            best->offset_us / 1e6);
    } else if (std::llabs(best->offset_us) > options_.clock_warn_us) {
        spdlog::warn(
            "clock is {:+.1f} ms off the controller's (round trip {:.1f} ms): plays start on the "
            "controller's time all the same, but check that chrony or systemd-timesyncd "
            "disciplines the system clock",
            best->offset_us / 1e3, best->round_trip_us / 1e3);
    }
}

void Session::send_command_results() {
    last_results_us_ = now_us();
    auto results = store_.unacked_command_results();
    for (const auto& result : results) {
        running_commands_.erase(result.command_id());
    }
    for (auto& result : results) {
        wire::Envelope out;
        *out.mutable_command_result() = std::move(result);
        if (!send(std::move(out))) {
            return;
        }
    }
}

void Session::on_command(const wire::Envelope& in) {
    const wire::Command& command = in.command();
    const std::int64_t now = now_us();
    ++stats_.commands;
    // What the hook worker stored before this command is still to be sent by tick().
    const std::uint64_t results_before = store_.command_results_generation();
    const bool results_pending = results_before != results_generation_;
    // A command seen before is answered from what was stored: each is carried out once.
    auto result = store_.command_result(command.command_id());
    const bool stored_before = result.has_value();
    if (result) {
        running_commands_.erase(command.command_id());
    } else if (running_commands_.contains(command.command_id())) {
        // Sent again while its hook runs: the result goes out when the hook ends.
        spdlog::debug("command {} is still being carried out", command.command_id());
        return;
    } else {
        result = carry_out(command, now);
        if (!result) {
            // Off this thread; a side that finished at once (a virtual player) stored it.
            result = store_.command_result(command.command_id());
            if (!result) {
                running_commands_.insert(command.command_id());
                return;
            }
        }
    }
    wire::Envelope out;
    *out.mutable_command_result() = std::move(*result);
    send(std::move(out));
    // Sent just now: the next copy goes out 3 s from here, not at a timer that may be about to
    // fire, before the controller could have acked this one. The result stored here moved the
    // generation by one; anything more is the hook worker's, for tick() to send.
    last_results_us_ = now_us();
    if (!results_pending) {
        results_generation_ = results_before + (stored_before ? 0 : 1);
    }
}

std::optional<wire::CommandResult> Session::carry_out(const wire::Command& command,
                                                      std::int64_t now) {
    wire::CommandResult result;
    result.set_command_id(command.command_id());
    result.set_done_us(now);
    auto refuse = [&](std::string why) {
        spdlog::warn("command {} refused: {}", command.command_id(), why);
        result.set_ok(false);
        result.set_message(std::move(why));
        store_.record_command(result, now);
        return result;
    };
    auto done = [&](std::string what) {
        spdlog::info("command {}: {}", command.command_id(), what);
        result.set_ok(true);
        result.set_message(std::move(what));
        store_.record_command(result, now);
        return result;
    };
    switch (command.action_case()) {
        case wire::Command::kEmergency: {
            const auto& e = command.emergency();
            if (e.emergency_id().empty() || e.media_hash().empty()) {
                return refuse("emergency without an id or media");
            }
            // A node back online after a day must not air a stale alert. The expiry is on the
            // controller's clock.
            if (e.expires_us() != 0 && now + agent_.clock_use(now).applied_us >= e.expires_us()) {
                return refuse(fmt::format("emergency {} expired at {}; not played",
                                          e.emergency_id(), iso_time(e.expires_us())));
            }
            if (e.until_expiry() && e.expires_us() == 0) {
                return refuse(fmt::format("emergency {}: until_expiry needs an expiry time",
                                          e.emergency_id()));
            }
            if (!e.until_expiry() && e.repeat() == 0) {
                return refuse(
                    fmt::format("emergency {}: repeat must be at least 1", e.emergency_id()));
            }
            // The same emergency under another command id plays once; one cancelled before it
            // arrived (a copy that was still on its way) never plays.
            if (auto state = store_.emergency_state(e.emergency_id())) {
                if (*state == "cancelled") {
                    return refuse(
                        fmt::format("emergency {} was cancelled before it arrived; not played",
                                    e.emergency_id()));
                }
                return done(fmt::format("emergency {} already received ({}); not played again",
                                        e.emergency_id(), *state));
            }
            // Plays the controller already holds from this node (this store was wiped after
            // they aired): numbered on from there, only what is left of `repeat` airs.
            const std::uint32_t held = e.plays_confirmed();
            if (held >= kMaxEmergencyPlays) {
                return refuse(
                    fmt::format("emergency {}: {} plays already confirmed is out of "
                                "range (at most {})",
                                e.emergency_id(), held, kMaxEmergencyPlays - 1));
            }
            if (!e.until_expiry() && held >= e.repeat()) {
                return done(
                    fmt::format("emergency {}: the controller already holds all {} "
                                "play(s) from this node; not played again",
                                e.emergency_id(), e.repeat()));
            }
            result.set_ok(true);
            result.set_message(e.until_expiry()
                                   ? fmt::format("emergency {} accepted: repeats until {}",
                                                 e.emergency_id(), iso_time(e.expires_us()))
                                   : fmt::format("emergency {} accepted: {} play(s)",
                                                 e.emergency_id(), e.repeat() - held));
            if (held > 0) {
                result.set_message(
                    result.message() +
                    fmt::format(", numbered from {} (the controller holds {})", held + 1, held));
            }
            spdlog::warn("command {}: {}", command.command_id(), result.message());
            store_.record_command(result, now, &e);
            agent_.preempt();
            next_media_scan_us_ = 0;  // its media goes to the front of the queue
            return result;
        }
        case wire::Command::kCancelEmergency: {
            const std::string& id = command.cancel_emergency().emergency_id();
            if (id.empty()) {
                return refuse("cancel without an emergency id");
            }
            if (!store_.cancel_emergency(id, now)) {
                return done(
                    fmt::format("emergency {} is not active on this node (over, expired or never "
                                "received): nothing to cancel",
                                id));
            }
            auto r = done(fmt::format("emergency {} cancelled", id));
            agent_.preempt();
            return r;
        }
        case wire::Command::kSetVolume: {
            const auto percent = command.set_volume().percent();
            if (percent > 100) {
                return refuse(fmt::format("volume {} % is out of range (0..100)", percent));
            }
            store_.set_setting("volume", std::to_string(percent));
            agent_.apply_volume(static_cast<int>(percent));
            return done(fmt::format("volume {} %", percent));
        }
        case wire::Command::kSetAmplifier: {
            // The hook may take its whole time limit (a slow relay board): it runs off this
            // thread, which goes on heartbeating and acking; its result is stored when it ends.
            const bool on = command.set_amplifier().on();
            auto started =
                agent_.start_amplifier(on, [&store = store_, result, on, now,
                                            shift = options_.clock_shift_us](auto hooked) mutable {
                    result.set_done_us(detail::now_us() + shift);  // as Session::now_us()
                    if (hooked) {
                        store.set_setting("amplifier", on ? "on" : "off");
                        spdlog::info("command {}: {}", result.command_id(), *hooked);
                        result.set_ok(true);
                        result.set_message(std::move(*hooked));
                    } else {
                        spdlog::warn("command {} failed: {}", result.command_id(), hooked.error());
                        result.set_ok(false);
                        result.set_message(std::move(hooked.error()));
                    }
                    store.record_command(result, now);
                });
            if (!started) {
                return refuse(started.error());
            }
            return std::nullopt;
        }
        case wire::Command::kRestart: {
            auto r = done("restarting");
            agent_.request_restart();
            return r;
        }
        case wire::Command::kSendLog: {
            if (options_.log_file.empty()) {
                // Not a log that happens to be empty: the controller should not show one.
                return refuse("this agent keeps no log file (start loa-node with --log-file)");
            }
            const std::uint32_t asked = command.send_log().max_bytes();
            const std::size_t bytes = asked == 0 ? 65536 : std::min(asked, kMaxLogBytes);
            result.set_log_tail(agent_.log_tail(bytes));
            return done(fmt::format("{} bytes of log", result.log_tail().size()));
        }
        case wire::Command::ACTION_NOT_SET:
            break;
    }
    return refuse("a command this agent does not know (agent version " +
                  std::string(kAgentVersion) + ")");
}

void Session::prune_and_evict(std::int64_t now) {
    next_prune_us_ = now + kPruneEveryUs;
    try {
        if (int n = store_.prune(now - kKeepHistoryUs); n > 0) {
            spdlog::info("forgot {} old plays, commands and emergencies", n);
        }
    } catch (const std::exception& e) {
        spdlog::error("pruning the node store: {}", e.what());
    }
    // Disk policy: media no pending play or emergency needs goes first, oldest first; media
    // the timeline needs is never removed for space, and confirmations live in SQLite, never here.
    std::set<std::string> needed;
    for (const auto& need : store_.needed_media(std::numeric_limits<std::int64_t>::max())) {
        needed.insert(need.media_hash);
    }
    if (auto emergency = store_.active_emergency()) {
        needed.insert(emergency->emergency.media_hash());
    }
    auto files = media_.list();
    std::sort(files.begin(), files.end(),
              [](const auto& a, const auto& b) { return a.modified < b.modified; });
    std::uint64_t total = 0;
    for (const auto& f : files) {
        total += f.size;
    }
    std::uint64_t free_bytes = detail::read_device_status(options_.data_dir).storage_free_bytes;
    for (const auto& f : files) {
        const bool over_cap = options_.max_media_bytes > 0 && total > options_.max_media_bytes;
        const bool low_space = free_bytes < options_.min_free_bytes;
        if (!over_cap && !low_space) {
            break;
        }
        if (needed.contains(f.hash)) {
            continue;
        }
        spdlog::info("removed media {} ({} bytes): no play needs it and {}", f.hash.substr(0, 12),
                     f.size, over_cap ? "the media cache is over its cap" : "the disk is low");
        media_.remove(f.hash);
        total -= f.size;
        free_bytes += f.size;
    }
}

void Session::fetch_media(std::int64_t now) {
    // The store is asked only when the timeline changed, or once a second, not every tick.
    if (now >= next_media_scan_us_) {
        next_media_scan_us_ = now + kMediaScanUs;
        std::int64_t horizon_end = now + options_.prefetch_horizon_us;
        auto needs = store_.needed_media(horizon_end);
        if (auto emergency = store_.active_emergency()) {
            const auto& e = emergency->emergency;
            std::erase_if(needs,
                          [&](const MediaNeed& n) { return n.media_hash == e.media_hash(); });
            needs.insert(needs.begin(), MediaNeed{e.media_hash(), now, e.media_size()});
        }
        fetcher_.set_needs(std::move(needs), horizon_end);
        fetcher_.set_free_bytes(detail::free_bytes(options_.data_dir));
    }
    fetcher_.tick(now);
    if (fetcher_.take_ready_news()) {
        media_ready();
    }
    send_media_status(now);
}

void Session::send_media_status(std::int64_t now) {
    bool changed = fetcher_.status_generation() != status_sent_generation_;
    bool progress = !fetcher_.current().empty() && now - status_sent_us_ >= kProgressEveryUs;
    if (!(changed || progress) || now - status_sent_us_ < kStatusMinGapUs) {
        return;
    }
    wire::Envelope out;
    *out.mutable_media_status() = fetcher_.status();
    if (send(std::move(out))) {
        status_sent_generation_ = fetcher_.status_generation();
        status_sent_us_ = now;
    }
}

void Session::on_schedule_update(const wire::Envelope& in) {
    const auto& update = in.schedule_update();
    try {
        store_.replace_timeline(update);
    } catch (const std::exception& e) {
        spdlog::error("timeline {} not stored: {}", update.timeline_hash().substr(0, 12), e.what());
        return;  // not acked: the controller sends it again
    }
    spdlog::info("timeline {} stored ({} plays)", update.timeline_hash().substr(0, 12),
                 update.slots_size());
    ++stats_.timelines;
    wire::Envelope out;
    out.mutable_schedule_ack()->set_timeline_hash(update.timeline_hash());
    send(std::move(out));
    next_media_scan_us_ = 0;
    agent_.timeline_changed();
}

void Session::media_ready() {
    // An emergency waiting for its media pre-empts the schedule the moment the file is here.
    if (auto emergency = store_.active_emergency();
        emergency && media_.contains(emergency->emergency.media_hash())) {
        agent_.preempt();
    } else {
        agent_.timeline_changed();
    }
}

void Session::on_error(const wire::Error& error) {
    if (error.code() != wire::NEED_HELLO) {
        ++stats_.errors;
        stats_.last_error = wire::ErrorCode_Name(error.code()) + ": " + error.message();
    }
    switch (error.code()) {
        case wire::NEED_HELLO:
            stats_.sessions_lost += welcomed_ ? 1 : 0;
            welcomed_ = false;
            fetcher_.on_session_lost();
            send_hello();
            break;
        case wire::NOT_FOUND:
            spdlog::error("controller: {}", error.message());
            fetcher_.on_not_found(now_us());
            break;
        case wire::REVOKED:
            // A lost or retired device: stop talking to the controller (it refuses this key
            // anyway) and keep playing what is cached; a new key needs `loa-node enroll`.
            if (!revoked_) {
                spdlog::critical(
                    "the controller revoked this node: disconnecting; the cached "
                    "schedule keeps playing; enroll again with a new token "
                    "(loa-node enroll)");
            }
            revoked_ = true;
            welcomed_ = false;
            fetcher_.on_session_lost();
            try {
                dealer_.disconnect(options_.controller);
            } catch (const zmq::error_t&) {
                // already disconnected
            }
            break;
        default:
            spdlog::error("controller refused: {}", error.message());
    }
}

bool Session::take_numbering(const wire::Welcome& welcome) {
    WelcomeNumbering numbering;
    try {
        numbering = store_.on_welcome(welcome.highest_seq(), now_us());
    } catch (const std::exception& e) {
        // Reports must not go out under numbers that may still have to move: the HELLO is said
        // again (with its back-off) and this WELCOME's successor tries again.
        spdlog::error("WELCOME not taken in (sequence numbers not settled): {}", e.what());
        return false;
    }
    if (numbering.out_of_range) {
        spdlog::warn(
            "the controller says it holds confirmation number {}, which no node assigns (2^62 or "
            "more): ignored",
            welcome.highest_seq());
    } else if (numbering.renumbered > 0) {
        spdlog::warn(
            "first WELCOME of this store: the controller holds confirmation numbers up to {}, so "
            "the {} confirmation(s) queued before it are numbered {} to {} (a new or re-imaged "
            "device never reuses a number of its past)",
            welcome.highest_seq(), numbering.renumbered, welcome.highest_seq() + 1,
            numbering.after);
    } else if (!numbering.first_welcome && numbering.after != numbering.before) {
        spdlog::warn(
            "the controller holds confirmation numbers up to {}, at or above this node's next "
            "number {}: new confirmations are numbered from {} (was this store restored from an "
            "older copy?); numbers already assigned keep theirs",
            welcome.highest_seq(), numbering.before + 1, numbering.after + 1);
    } else if (numbering.first_welcome && welcome.highest_seq() > 0) {
        spdlog::info("first WELCOME of this store: confirmations are numbered from {}",
                     numbering.after + 1);
    }
    return true;
}

void Session::on_frame(std::string_view frame) {
    auto decoded = protocol::decode(frame, protocol::kMaxControllerFrameBytes);
    if (!decoded) {
        spdlog::warn("refused frame from controller: {}", decoded.error().message);
        ++stats_.bad_frames;
        return;
    }
    const wire::Envelope& in = *decoded;
    switch (in.body_case()) {
        case wire::Envelope::kWelcome:
            if (!take_numbering(in.welcome())) {
                return;  // not welcomed: nothing is sent until the numbering is settled
            }
            stats_.welcomes += welcomed_ ? 0 : 1;
            welcomed_ = true;
            hello_retry_us_ = kHelloRetryUs;
            if (const auto v = in.welcome().accepted_version();
                v >= protocol::kOldestServedVersion && v <= protocol::kProtocolVersion) {
                version_ = v;
            }
            if (in.welcome().heartbeat_interval_ms() > 0 && options_.heartbeat_from_welcome) {
                heartbeat_interval_us_ =
                    static_cast<std::int64_t>(in.welcome().heartbeat_interval_ms()) * 1000;
            }
            last_report_us_ = 0;          // deliver the outbox right away
            last_results_us_ = 0;         // and the results of commands
            status_sent_generation_ = 0;  // and tell what media the node holds
            spdlog::info("controller welcomed node {}", options_.node_id);
            break;
        case wire::Envelope::kScheduleUpdate:
            on_schedule_update(in);
            break;
        case wire::Envelope::kManifest:
            fetcher_.on_manifest(in.manifest(), now_us());
            break;
        case wire::Envelope::kChunk:
            fetcher_.on_chunk(in.chunk(), now_us());
            if (fetcher_.take_ready_news()) {
                media_ready();
            }
            break;
        case wire::Envelope::kReportAck: {
            std::vector<std::uint64_t> seqs(in.report_ack().seqs().begin(),
                                            in.report_ack().seqs().end());
            store_.acknowledge(seqs);
            stats_.confirmations_acked += seqs.size();
            last_report_us_ = 0;  // more may be waiting
            break;
        }
        case wire::Envelope::kHeartbeatAck:
            on_heartbeat_ack(in.heartbeat_ack());
            break;
        case wire::Envelope::kCommand:
            on_command(in);
            break;
        case wire::Envelope::kCommandAck:
            store_.acknowledge_command(in.command_ack().command_id());
            break;
        case wire::Envelope::kError:
            on_error(in.error());
            break;
        default:
            spdlog::warn("unexpected {} from controller ignored", protocol::message_type(in));
    }
}

}  // namespace loa::node
