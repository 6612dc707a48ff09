// The node's session: hello, timelines, chunked media download, outbox delivery, heartbeats.
#include "session.hpp"

#include <algorithm>
#include <cerrno>
#include <chrono>

#include <spdlog/spdlog.h>

#include "loa/protocol/envelope.hpp"
#include "wall_clock.hpp"

namespace loa::node {

using detail::now_us;

namespace {

constexpr std::int64_t kHelloRetryUs = 2'000'000;
constexpr std::int64_t kReportRetryUs = 3'000'000;
constexpr std::int64_t kMediaScanUs = 1'000'000;
/// A changed media status goes out at most this often; progress alone, this often.
constexpr std::int64_t kStatusMinGapUs = 1'000'000;
constexpr std::int64_t kProgressEveryUs = 15'000'000;
constexpr int kReportBatch = 200;
constexpr const char* kAgentVersion = "0.1.0";

}  // namespace

Session::Session(const AgentOptions& options, NodeStore& store, media::ContentStore& media,
                 std::function<void()> on_change)
    : options_(options),
      store_(store),
      media_(media),
      on_change_(std::move(on_change)),
      context_(1),
      dealer_(context_, zmq::socket_type::dealer),
      heartbeat_interval_us_(options.heartbeat_interval_ms * 1000),
      fetcher_(media, options.fetch, [this](wire::Envelope e) { return send(std::move(e)); }) {
    dealer_.set(zmq::sockopt::linger, 0);
    // Nothing is queued for a controller that is not there: every message is rebuilt from the
    // store when the session is back, so a queue would only deliver stale duplicates.
    dealer_.set(zmq::sockopt::immediate, 1);
    dealer_.set(zmq::sockopt::reconnect_ivl, 500);
    dealer_.set(zmq::sockopt::reconnect_ivl_max, 10'000);
    dealer_.connect(options_.controller);
}

void Session::run(const std::atomic<bool>& stop) {
    spdlog::info("node {} connecting to {}", options_.node_id, options_.controller);
    while (!stop.load()) {
        zmq::pollitem_t items[] = {{dealer_.handle(), 0, ZMQ_POLLIN, 0}};
        try {
            zmq::poll(items, 1, std::chrono::milliseconds(50));
        } catch (const zmq::error_t& e) {
            if (e.num() != EINTR) {
                throw;
            }
            continue;  // a signal (SIGTERM): look at the stop flag
        }
        while (true) {
            zmq::message_t frame;
            if (!dealer_.recv(frame, zmq::recv_flags::dontwait)) {
                break;
            }
            while (frame.more()) {  // one frame per message; drop anything trailing
                zmq::message_t extra;
                (void)dealer_.recv(extra);
                if (!extra.more()) {
                    break;
                }
            }
            last_heard_us_ = now_us();
            on_frame(frame.to_string_view());
        }
        tick();
    }
}

bool Session::send(wire::Envelope envelope) {
    envelope.set_message_id(next_message_id_++);
    std::string bytes = protocol::encode(std::move(envelope));
    try {
        // With ZMQ_IMMEDIATE a send fails (EAGAIN) while there is no connection.
        return dealer_.send(zmq::buffer(bytes), zmq::send_flags::dontwait).has_value();
    } catch (const zmq::error_t& e) {
        spdlog::warn("send failed: {}", e.what());
        return false;
    }
}

void Session::send_hello() {
    last_hello_us_ = now_us();
    wire::Envelope out;
    auto* hello = out.mutable_hello();
    hello->set_node_id(options_.node_id);
    hello->set_agent_version(kAgentVersion);
    hello->set_timeline_hash(store_.timeline_hash());
    hello->set_node_time_us(now_us());
    send(std::move(out));
}

void Session::tick() {
    std::int64_t now = now_us();
    if (!welcomed_) {
        if (now - last_hello_us_ > kHelloRetryUs) {
            send_hello();
        }
        return;
    }
    // Three heartbeats without a word from the controller: the session is gone; start over.
    if (now - last_heard_us_ > 3 * heartbeat_interval_us_) {
        spdlog::warn("controller silent for 3 heartbeats; saying hello again");
        welcomed_ = false;
        fetcher_.on_session_lost();
        return;
    }
    if (now - last_heartbeat_us_ > heartbeat_interval_us_) {
        last_heartbeat_us_ = now;
        wire::Envelope out;
        auto* hb = out.mutable_heartbeat();
        hb->set_node_time_us(now);
        hb->set_outbox_pending(static_cast<std::uint32_t>(store_.outbox_size()));
        auto media = fetcher_.status();
        hb->set_media_missing(static_cast<std::uint32_t>(std::count_if(
            media.items().begin(), media.items().end(),
            [](const wire::MediaItem& m) { return m.state() != wire::MEDIA_READY; })));
        send(std::move(out));
    }
    if (now - last_report_us_ > kReportRetryUs) {
        auto pending = store_.outbox(kReportBatch);
        if (!pending.empty()) {
            last_report_us_ = now;
            wire::Envelope out;
            for (auto& c : pending) {
                *out.mutable_playback_report()->add_confirmations() = std::move(c);
            }
            send(std::move(out));
        }
    }
    fetch_media(now);
}

void Session::fetch_media(std::int64_t now) {
    // The store is asked only when the timeline changed, or once a second, not every tick.
    if (now >= next_media_scan_us_) {
        next_media_scan_us_ = now + kMediaScanUs;
        std::int64_t horizon_end = now + options_.prefetch_horizon_us;
        fetcher_.set_needs(store_.needed_media(horizon_end), horizon_end);
    }
    fetcher_.tick(now);
    if (fetcher_.take_ready_news()) {
        on_change_();
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
    wire::Envelope out;
    out.mutable_schedule_ack()->set_timeline_hash(update.timeline_hash());
    send(std::move(out));
    next_media_scan_us_ = 0;
    on_change_();
}

void Session::on_error(const wire::Error& error) {
    switch (error.code()) {
        case wire::NEED_HELLO:
            welcomed_ = false;
            fetcher_.on_session_lost();
            send_hello();
            break;
        case wire::NOT_FOUND:
            spdlog::error("controller: {}", error.message());
            fetcher_.on_not_found(now_us());
            break;
        default:
            spdlog::error("controller refused: {}", error.message());
    }
}

void Session::on_frame(std::string_view frame) {
    auto decoded = protocol::decode(frame);
    if (!decoded) {
        spdlog::warn("refused frame from controller: {}", decoded.error().message);
        return;
    }
    const wire::Envelope& in = *decoded;
    switch (in.body_case()) {
        case wire::Envelope::kWelcome:
            welcomed_ = true;
            if (in.welcome().heartbeat_interval_ms() > 0) {
                heartbeat_interval_us_ =
                    static_cast<std::int64_t>(in.welcome().heartbeat_interval_ms()) * 1000;
            }
            last_report_us_ = 0;          // deliver the outbox right away
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
                on_change_();
            }
            break;
        case wire::Envelope::kReportAck: {
            std::vector<std::uint64_t> seqs(in.report_ack().seqs().begin(),
                                            in.report_ack().seqs().end());
            store_.acknowledge(seqs);
            last_report_us_ = 0;  // more may be waiting
            break;
        }
        case wire::Envelope::kHeartbeatAck:
            break;
        case wire::Envelope::kError:
            on_error(in.error());
            break;
        default:
            spdlog::warn("unexpected {} from controller ignored", protocol::message_type(in));
    }
}

}  // namespace loa::node
