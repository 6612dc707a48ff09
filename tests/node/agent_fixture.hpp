// A fake controller on a real ZeroMQ ROUTER and an in-process node agent, for the agent's tests:
// the controller answers as protocol/README.md says, records what the node tells it and lets the
// test send commands, withhold acks and hide media.
#pragma once

#include <catch2/catch.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <deque>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <fmt/core.h>
#include <zmq.hpp>

#include "loa/media/chunk_manifest.hpp"
#include "loa/media/content_store.hpp"
#include "loa/node/node_agent.hpp"
#include "loa/protocol/curve_keys.hpp"
#include "loa/protocol/envelope.hpp"
#include "media_fixtures.hpp"
#include "test_support.hpp"

namespace loa::test {

namespace agent_fs = std::filesystem;

inline std::int64_t wall_now_us() {
    return std::chrono::duration_cast<std::chrono::microseconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
}

inline double seconds_of(std::int64_t us) {
    return static_cast<double>(us) / 1e6;
}

/// Seconds a confirmation says aired (0 if nothing did).
inline double aired_seconds(const wire::Confirmation& c) {
    return c.actual_start_us() > 0 ? seconds_of(c.actual_end_us() - c.actual_start_us()) : 0.0;
}

/// Mono 48 kHz WAV of `expression` (ffmpeg's aevalsrc: a function of t, full scale 1).
inline void make_wave(const agent_fs::path& out, const std::string& expression, double seconds) {
    ffmpeg(fmt::format("-f lavfi -i 'aevalsrc={}:s=48000:d={}' -c:a pcm_s16le '{}'", expression,
                       seconds, out.string()));
}

/// Duration of a media file in seconds as ffprobe reads it; the test stops if it cannot.
inline double probe_seconds(const agent_fs::path& file) {
    int status = -1;
    const std::string out =
        capture_shell(fmt::format("ffprobe -v error -show_entries format=duration -of csv=p=0 '{}'",
                                  file.string()),
                      &status);
    INFO("ffprobe printed: " << out);
    REQUIRE(status == 0);
    return std::stod(out);
}

/// A slot of the timeline the fake controller sends.
inline wire::Slot make_slot(const std::string& id, const std::string& media_hash,
                            std::uint64_t media_size, std::int64_t start_us,
                            std::int64_t duration_us, wire::SlotKind kind = wire::SLOT_AUDIO) {
    wire::Slot s;
    s.set_slot_id(id);
    s.set_campaign_id("phong-chong-thien-tai");
    s.set_item_id("item-" + id);
    s.set_media_hash(media_hash);
    s.set_media_size(media_size);
    s.set_start_us(start_us);
    s.set_duration_us(duration_us);
    s.set_title("Bản tin " + id);
    s.set_kind(kind);
    if (kind == wire::SLOT_IMAGE) {
        s.set_display_us(duration_us);
    }
    return s;
}

/// Something the node sent, with the controller's clock when it arrived.
template <typename T>
struct Received {
    T message;
    std::int64_t at_us = 0;
};

/// The controller side of the protocol over a ROUTER bound on loopback, served by its own
/// thread (the socket never leaves it). Media is served from a real content store.
class FakeController {
  public:
    explicit FakeController(const agent_fs::path& dir)
        : store_(dir / "controller-media"),
          endpoint_(fmt::format("tcp://127.0.0.1:{}", free_tcp_port())),
          keys_(protocol::generate_curve_key_pair()),
          router_(context_, zmq::socket_type::router) {
        router_.set(zmq::sockopt::linger, 0);
        // CURVE like the real controller; with no ZAP handler in this context every key is let
        // in (who may connect is the controller's tests' business).
        router_.set(zmq::sockopt::curve_server, 1);
        router_.set(zmq::sockopt::curve_secretkey, keys_.secret_key);
        router_.bind(endpoint_);
        thread_ = std::thread([this] { loop(); });
    }
    ~FakeController() {
        stop_ = true;
        thread_.join();
    }
    FakeController(const FakeController&) = delete;
    FakeController& operator=(const FakeController&) = delete;

    const std::string& endpoint() const { return endpoint_; }
    /// The CURVE public key agents must know to connect.
    const std::string& public_key() const { return keys_.public_key; }
    media::ContentStore& store() { return store_; }

    /// Puts a file in the controller's media store; returns its hash.
    std::string add_media(const agent_fs::path& file) {
        auto hash = store_.put_file(file);
        REQUIRE(hash.has_value());
        return *hash;
    }
    std::uint64_t size_of(const std::string& hash) {
        auto size = store_.size_of(hash);
        REQUIRE(size.has_value());
        return *size;
    }

    /// The node's whole timeline: sent now if the node is connected, and after every Welcome.
    void set_timeline(std::vector<wire::Slot> slots, std::int64_t horizon_end_us = 0) {
        std::lock_guard lock(mutex_);
        wire::ScheduleUpdate update;
        update.set_timeline_hash(fmt::format("{:064x}", ++timeline_serial_));
        update.set_generated_us(wall_now_us());
        update.set_horizon_end_us(horizon_end_us);
        for (auto& s : slots) {
            *update.add_slots() = std::move(s);
        }
        timeline_ = std::move(update);
        push_timeline_ = true;
    }

    /// Manifest requests for this hash are answered NOT_FOUND, as by a controller without it.
    void hide_media(const std::string& hash) {
        std::lock_guard lock(mutex_);
        hidden_.insert(hash);
    }

    /// Sends `command` to the node now; like the real controller it is sent again after every
    /// Hello until its result arrives (`resend_on_hello`).
    void send_command(const wire::Command& command, bool resend_on_hello = true) {
        std::lock_guard lock(mutex_);
        outgoing_commands_.push_back(command);
        if (resend_on_hello) {
            unanswered_[command.command_id()] = command;
        }
    }
    /// Whether CommandResults are answered with CommandAck.
    void set_ack_commands(bool ack) { ack_commands_ = ack; }

    std::vector<wire::Confirmation> confirmations() {
        std::lock_guard lock(mutex_);
        return confirmations_;
    }
    std::optional<wire::Confirmation> confirmation(const std::string& slot_id) {
        std::lock_guard lock(mutex_);
        for (const auto& c : confirmations_) {
            if (c.slot_id() == slot_id) {
                return c;
            }
        }
        return std::nullopt;
    }
    /// Confirmations whose slot id starts with `prefix`, in sequence order.
    std::vector<wire::Confirmation> confirmations_of(const std::string& prefix) {
        std::vector<wire::Confirmation> out;
        for (auto& c : confirmations()) {
            if (c.slot_id().starts_with(prefix)) {
                out.push_back(std::move(c));
            }
        }
        return out;
    }
    /// Times the same sequence number was reported again after its ack.
    int duplicate_reports() {
        std::lock_guard lock(mutex_);
        return duplicate_reports_;
    }
    std::vector<Received<wire::Heartbeat>> heartbeats() {
        std::lock_guard lock(mutex_);
        return heartbeats_;
    }
    std::optional<wire::Heartbeat> last_heartbeat() {
        std::lock_guard lock(mutex_);
        if (heartbeats_.empty()) {
            return std::nullopt;
        }
        return heartbeats_.back().message;
    }
    /// Every CommandResult received (re-sent ones too), in arrival order.
    std::vector<Received<wire::CommandResult>> command_results() {
        std::lock_guard lock(mutex_);
        return results_;
    }
    std::vector<Received<wire::CommandResult>> results_of(std::uint64_t command_id) {
        std::vector<Received<wire::CommandResult>> out;
        for (auto& r : command_results()) {
            if (r.message.command_id() == command_id) {
                out.push_back(std::move(r));
            }
        }
        return out;
    }
    /// The first result of `command_id`, waiting up to `timeout` for it.
    std::optional<wire::CommandResult> wait_result(
        std::uint64_t command_id, std::chrono::milliseconds timeout = std::chrono::seconds(5)) {
        if (!wait_until([&] { return !results_of(command_id).empty(); }, timeout)) {
            return std::nullopt;
        }
        return results_of(command_id).front().message;
    }
    int hellos() { return hellos_.load(); }
    /// The version WELCOME accepts (set an older one to act as an older controller), and the
    /// versions the last HELLO and the last other message were stamped with.
    std::atomic<std::uint32_t> accepted_version{protocol::kProtocolVersion};
    /// WELCOME's highest_seq: the highest confirmation number this controller holds for the node.
    std::atomic<std::uint64_t> highest_seq{0};
    std::atomic<std::uint32_t> hello_version{0};
    std::atomic<std::uint32_t> message_version{0};
    std::set<std::string> schedule_acks() {
        std::lock_guard lock(mutex_);
        return schedule_acks_;
    }
    /// Manifest requests answered NOT_FOUND.
    int not_found_answers() { return not_found_answers_.load(); }

    /// Waits until the node has acked the current timeline.
    bool wait_timeline_acked(std::chrono::milliseconds timeout = std::chrono::seconds(8)) {
        return wait_until(
            [&] {
                std::lock_guard lock(mutex_);
                return timeline_ && schedule_acks_.contains(timeline_->timeline_hash());
            },
            timeout);
    }
    /// Waits for a confirmation of `slot_id`.
    std::optional<wire::Confirmation> wait_confirmation(const std::string& slot_id,
                                                        std::chrono::milliseconds timeout) {
        if (!wait_until([&] { return confirmation(slot_id).has_value(); }, timeout)) {
            return std::nullopt;
        }
        return confirmation(slot_id);
    }
    /// Waits for a heartbeat sent after now that satisfies `condition`.
    std::optional<wire::Heartbeat> wait_heartbeat(
        const std::function<bool(const wire::Heartbeat&)>& condition,
        std::chrono::milliseconds timeout = std::chrono::seconds(5)) {
        const std::int64_t since = wall_now_us();
        std::optional<wire::Heartbeat> found;
        wait_until(
            [&] {
                for (const auto& hb : heartbeats()) {
                    if (hb.at_us >= since && condition(hb.message)) {
                        found = hb.message;
                        return true;
                    }
                }
                return false;
            },
            timeout);
        return found;
    }

  private:
    static constexpr std::uint32_t kChunkBytes = 64 * 1024;

    void loop() {
        while (!stop_) {
            zmq::pollitem_t items[] = {{router_.handle(), 0, ZMQ_POLLIN, 0}};
            zmq::poll(items, 1, std::chrono::milliseconds(10));
            while (true) {
                zmq::message_t identity;
                if (!router_.recv(identity, zmq::recv_flags::dontwait)) {
                    break;
                }
                const std::int64_t received_us = wall_now_us();
                zmq::message_t frame;
                if (!identity.more() || !router_.recv(frame)) {
                    continue;
                }
                while (frame.more()) {
                    zmq::message_t extra;
                    (void)router_.recv(extra);
                    if (!extra.more()) {
                        break;
                    }
                }
                on_frame(identity.to_string(), frame.to_string_view(), received_us);
            }
            send_outgoing();
        }
    }

    void send(const std::string& peer, wire::Envelope envelope, std::uint64_t in_reply_to = 0) {
        envelope.set_message_id(next_message_id_++);
        envelope.set_in_reply_to(in_reply_to);
        const std::string bytes = protocol::encode(std::move(envelope));
        router_.send(zmq::buffer(peer), zmq::send_flags::sndmore);
        router_.send(zmq::buffer(bytes), zmq::send_flags::none);
    }

    void send_outgoing() {
        std::vector<wire::Command> commands;
        std::optional<wire::ScheduleUpdate> timeline;
        {
            std::lock_guard lock(mutex_);
            if (peer_.empty()) {
                return;
            }
            commands.swap(outgoing_commands_);
            if (push_timeline_ && timeline_) {
                timeline = timeline_;
                push_timeline_ = false;
            }
        }
        if (timeline) {
            wire::Envelope out;
            *out.mutable_schedule_update() = *timeline;
            send(peer_, std::move(out));
        }
        for (auto& c : commands) {
            wire::Envelope out;
            *out.mutable_command() = std::move(c);
            send(peer_, std::move(out));
        }
    }

    void error(const std::string& peer, wire::ErrorCode code, const std::string& message,
               std::uint64_t in_reply_to) {
        wire::Envelope out;
        out.mutable_error()->set_code(code);
        out.mutable_error()->set_message(message);
        send(peer, std::move(out), in_reply_to);
    }

    void on_frame(const std::string& peer, std::string_view frame, std::int64_t received_us) {
        auto decoded = protocol::decode(frame);
        if (!decoded) {
            return;
        }
        const wire::Envelope& in = *decoded;
        const auto id = in.message_id();
        (in.has_hello() ? hello_version : message_version) = in.version();
        switch (in.body_case()) {
            case wire::Envelope::kHello: {
                ++hellos_;
                wire::Envelope welcome;
                welcome.mutable_welcome()->set_accepted_version(accepted_version.load());
                welcome.mutable_welcome()->set_controller_time_us(wall_now_us());
                welcome.mutable_welcome()->set_heartbeat_interval_ms(300);
                welcome.mutable_welcome()->set_highest_seq(highest_seq.load());
                send(peer, std::move(welcome), id);
                std::lock_guard lock(mutex_);
                peer_ = peer;
                push_timeline_ = timeline_.has_value();
                for (const auto& [command_id, command] : unanswered_) {
                    outgoing_commands_.push_back(command);
                }
                break;
            }
            case wire::Envelope::kScheduleAck: {
                std::lock_guard lock(mutex_);
                schedule_acks_.insert(in.schedule_ack().timeline_hash());
                break;
            }
            case wire::Envelope::kManifestRequest: {
                const std::string& hash = in.manifest_request().media_hash();
                bool hidden = false;
                {
                    std::lock_guard lock(mutex_);
                    hidden = hidden_.contains(hash);
                }
                if (hidden || !store_.contains(hash)) {
                    ++not_found_answers_;
                    error(peer, wire::NOT_FOUND, "no media " + hash + " on this controller", id);
                    break;
                }
                auto manifest = media::ChunkManifest::of_file(store_.path_for(hash), kChunkBytes);
                if (!manifest) {
                    error(peer, wire::INTERNAL, manifest.error().message, id);
                    break;
                }
                wire::Envelope out;
                auto* m = out.mutable_manifest();
                m->set_media_hash(hash);
                m->set_total_size(manifest->total_size);
                m->set_chunk_size(manifest->chunk_size);
                m->set_chunk_digests(manifest->packed_digests());
                send(peer, std::move(out), id);
                break;
            }
            case wire::Envelope::kChunkRequest: {
                const auto& request = in.chunk_request();
                auto size = store_.size_of(request.media_hash());
                auto data = store_.read_chunk(request.media_hash(), request.offset(),
                                              std::min(request.length(), protocol::kMaxChunkBytes));
                if (!size || !data) {
                    error(peer, wire::NOT_FOUND, "no such chunk", id);
                    break;
                }
                wire::Envelope out;
                auto* chunk = out.mutable_chunk();
                chunk->set_media_hash(request.media_hash());
                chunk->set_offset(request.offset());
                chunk->set_total_size(*size);
                chunk->set_data(std::move(*data));
                send(peer, std::move(out), id);
                break;
            }
            case wire::Envelope::kPlaybackReport: {
                wire::Envelope ack;
                {
                    std::lock_guard lock(mutex_);
                    for (const auto& c : in.playback_report().confirmations()) {
                        ack.mutable_report_ack()->add_seqs(c.seq());
                        if (acked_seqs_.insert(c.seq()).second) {
                            confirmations_.push_back(c);
                        } else {
                            ++duplicate_reports_;
                        }
                    }
                }
                send(peer, std::move(ack), id);
                break;
            }
            case wire::Envelope::kHeartbeat: {
                {
                    std::lock_guard lock(mutex_);
                    heartbeats_.push_back({in.heartbeat(), received_us});
                }
                wire::Envelope ack;
                ack.mutable_heartbeat_ack()->set_node_time_us(in.heartbeat().node_time_us());
                ack.mutable_heartbeat_ack()->set_controller_receive_us(received_us);
                ack.mutable_heartbeat_ack()->set_controller_send_us(wall_now_us());
                send(peer, std::move(ack), id);
                break;
            }
            case wire::Envelope::kCommandResult: {
                const auto command_id = in.command_result().command_id();
                {
                    std::lock_guard lock(mutex_);
                    results_.push_back({in.command_result(), received_us});
                    unanswered_.erase(command_id);
                }
                if (ack_commands_) {
                    wire::Envelope ack;
                    ack.mutable_command_ack()->set_command_id(command_id);
                    send(peer, std::move(ack), id);
                }
                break;
            }
            default:
                break;  // MediaStatus and anything else: not answered
        }
    }

    media::ContentStore store_;
    std::string endpoint_;
    protocol::CurveKeyPair keys_;
    zmq::context_t context_{1};
    zmq::socket_t router_;
    std::atomic<bool> stop_{false};
    std::atomic<bool> ack_commands_{true};
    std::atomic<int> hellos_{0};
    std::atomic<int> not_found_answers_{0};
    std::uint64_t next_message_id_ = 1;  // the loop thread's

    std::mutex mutex_;  // guards everything below
    std::string peer_;
    std::optional<wire::ScheduleUpdate> timeline_;
    std::uint64_t timeline_serial_ = 0;
    bool push_timeline_ = false;
    std::set<std::string> hidden_;
    std::vector<wire::Command> outgoing_commands_;
    std::map<std::uint64_t, wire::Command> unanswered_;
    std::set<std::string> schedule_acks_;
    std::set<std::uint64_t> acked_seqs_;
    std::vector<wire::Confirmation> confirmations_;
    int duplicate_reports_ = 0;
    std::vector<Received<wire::Heartbeat>> heartbeats_;
    std::vector<Received<wire::CommandResult>> results_;

    std::thread thread_;  // last: starts after everything above exists
};

/// Options for an agent of the tests: fake sink and display, small heartbeat interval, no free
/// space floor (the test machine's disk is not the node's).
inline node::AgentOptions agent_options(const agent_fs::path& data_dir,
                                        const FakeController& controller) {
    node::AgentOptions options;
    options.node_id = "ta-van-01";
    options.controller = controller.endpoint();
    options.controller_key = controller.public_key();
    options.keys = protocol::generate_curve_key_pair();
    options.data_dir = data_dir;
    options.sink = node::SinkSpec{};        // fake
    options.display = node::DisplaySpec{};  // fake
    options.heartbeat_interval_ms = 300;
    options.min_free_bytes = 0;
    return options;
}

/// A NodeAgent serving on its own thread until destroyed (or until a Restart command).
class RunningAgent {
  public:
    explicit RunningAgent(node::AgentOptions options)
        : agent_(std::make_unique<node::NodeAgent>(std::move(options))) {
        thread_ = std::thread([this] {
            try {
                agent_->run(stop_);
            } catch (const std::exception& e) {
                std::lock_guard lock(mutex_);
                error_ = e.what();
            }
            returned_ = true;
        });
    }
    ~RunningAgent() { stop(); }
    RunningAgent(const RunningAgent&) = delete;
    RunningAgent& operator=(const RunningAgent&) = delete;

    /// Stops the agent and waits for run() to return.
    void stop() {
        stop_ = true;
        if (thread_.joinable()) {
            thread_.join();
        }
    }
    bool returned() const { return returned_.load(); }
    bool restart_requested() const { return agent_->restart_requested(); }
    bool failed() const { return agent_->failed(); }
    std::string failure() { return agent_->failure(); }
    std::string error() {
        std::lock_guard lock(mutex_);
        return error_;
    }

  private:
    std::atomic<bool> stop_{false};
    std::atomic<bool> returned_{false};
    std::unique_ptr<node::NodeAgent> agent_;
    std::mutex mutex_;
    std::string error_;
    std::thread thread_;
};

}  // namespace loa::test
