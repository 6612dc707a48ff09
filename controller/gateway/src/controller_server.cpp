// The ROUTER loop: receive, decode, dispatch to a handler, and push changed timelines.
#include "loa/controller/gateway/controller_server.hpp"

#include <cerrno>

#include <SQLiteCpp/Statement.h>
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "loa/controller/audit/confirmation_ingest.hpp"
#include "loa/controller/fleet/node_enrollment.hpp"
#include "loa/controller/fleet/node_registry.hpp"
#include "loa/controller/booking/node_timeline.hpp"
#include "loa/controller/common/time_text.hpp"
#include "loa/protocol/envelope.hpp"
#include "loa/protocol/limits.hpp"
#include "loa/protocol/versions.hpp"

namespace loa::controller {

namespace {
constexpr std::int64_t kPeriodicUs = 500'000;
}  // namespace

std::string ControllerServer::bound_endpoint() const {
    return router_.get(zmq::sockopt::last_endpoint);
}

ControllerServer::ControllerServer(SQLite::Database& db, media::ContentStore& store,
                                   ServerOptions options)
    : db_(db),
      store_(store),
      options_(std::move(options)),
      context_(1),
      zap_(context_, zmq::socket_type::rep),
      router_(context_, zmq::socket_type::router),
      enroll_(context_, zmq::socket_type::router) {
    tune_for_ingest(db_);
    // The ZAP handler is bound before any CURVE socket: libzmq lets handshakes through
    // unauthenticated when nobody answers on this endpoint.
    zap_.set(zmq::sockopt::linger, 0);
    zap_.bind("inproc://zeromq.zap.01");
    for (auto* socket : {&router_, &enroll_}) {
        socket->set(zmq::sockopt::linger, 0);
        // A reply to a node that has gone must fail loudly, not vanish.
        socket->set(zmq::sockopt::router_mandatory, 1);
        // After a controller restart thousands of nodes reconnect at once.
        socket->set(zmq::sockopt::backlog, 4096);
        // libzmq drops a connection that sends a bigger frame before allocating it; what a
        // decoder would accept always fits (protocol/README.md, "Limits").
        socket->set(zmq::sockopt::maxmsgsize,
                    static_cast<std::int64_t>(protocol::kMaxFrameBytes +
                                              protocol::kTransportOverheadBytes));
    }
    router_.set(zmq::sockopt::sndhwm, options_.send_queue_per_node);
    router_.set(zmq::sockopt::zap_domain, std::string(kNodeDomain));
    enroll_.set(zmq::sockopt::zap_domain, std::string(kEnrollDomain));
    if (protocol::is_z85_key(options_.curve_keys.secret_key)) {
        for (auto* socket : {&router_, &enroll_}) {
            socket->set(zmq::sockopt::curve_server, 1);
            socket->set(zmq::sockopt::curve_secretkey, options_.curve_keys.secret_key);
        }
    }
}

Result<void> ControllerServer::bind() {
    if (!protocol::is_z85_key(options_.curve_keys.secret_key) ||
        !protocol::is_z85_key(options_.curve_keys.public_key)) {
        return fail(Error::Code::invalid_input,
                    "the controller has no CURVE key pair: every node connection is encrypted "
                    "and authenticated");
    }
    std::string endpoint = options_.endpoint;
    try {
        router_.bind(endpoint);
        if (!options_.enroll_endpoint.empty()) {
            endpoint = options_.enroll_endpoint;
            enroll_.bind(endpoint);
        }
    } catch (const zmq::error_t& e) {
        return fail(Error::Code::invalid_input, "cannot bind " + endpoint + ": " + e.what());
    }
    spdlog::info("controller listening on {} for nodes (CURVE, controller key {})",
                 bound_endpoint(), options_.curve_keys.public_key);
    if (!options_.enroll_endpoint.empty()) {
        spdlog::info("enrollment on {}", enroll_.get(zmq::sockopt::last_endpoint));
    }
    push_due_updates();  // records the current data_version
    return {};
}

void ControllerServer::run(const std::atomic<bool>& stop) {
    while (!stop.load()) {
        poll_once(100);
    }
}

void ControllerServer::poll_once(int timeout_ms) {
    zmq::pollitem_t items[] = {{zap_.handle(), 0, ZMQ_POLLIN, 0},
                               {router_.handle(), 0, ZMQ_POLLIN, 0},
                               {enroll_.handle(), 0, ZMQ_POLLIN, 0}};
    try {
        zmq::poll(items, 3, std::chrono::milliseconds(timeout_ms));
    } catch (const zmq::error_t& e) {
        if (e.num() != EINTR) {
            throw;
        }
        return;  // a signal (SIGTERM): let run() look at its stop flag
    }
    // Handshakes first: a reconnection storm must not wait behind a batch of reports.
    for (int i = 0; i < 1000 && (items[0].revents & ZMQ_POLLIN); ++i) {
        if (!(zap_.get(zmq::sockopt::events) & ZMQ_POLLIN)) {
            break;
        }
        handle_zap_request();
    }
    // Drain what is waiting, a bounded batch so periodic work is never starved. Reports are
    // stored together after the drain: one commit for all of them.
    draining_ = true;
    for (zmq::socket_t* socket : {&router_, &enroll_}) {
        const bool ready = items[socket == &router_ ? 1 : 2].revents & ZMQ_POLLIN;
        for (int i = 0; i < 1000 && ready; ++i) {
            zmq::message_t identity;
            if (!socket->recv(identity, zmq::recv_flags::dontwait)) {
                break;
            }
            std::string routing_id = identity.to_string();
            zmq::message_t frame;
            (void)socket->recv(frame);
            const std::int64_t received_us = now_us();
            if (frame.more()) {
                zmq::message_t rest;
                while (rest.more() || frame.more()) {
                    (void)socket->recv(rest);
                    frame.rebuild();  // only `rest` decides whether more parts follow now
                }
                spdlog::warn("refused a multi-frame message");
                if (socket == &router_) {
                    send_error(routing_id, wire::MALFORMED, "a loa message is exactly one frame",
                               0);
                }
                continue;
            }
            // The ZAP handler's verdict: the node id of the key (node endpoint) or the key
            // itself (enrollment endpoint). Never taken from the message.
            const char* user_id = frame.gets("User-Id");
            if (socket == &enroll_) {
                handle_enroll(routing_id, user_id != nullptr ? user_id : "",
                              frame.to_string_view());
                continue;
            }
            handle_frame(routing_id, user_id != nullptr ? user_id : "", frame.to_string_view(),
                         received_us);
        }
    }
    draining_ = false;
    flush_reports();
    if (now_us() >= next_periodic_us_) {
        next_periodic_us_ = now_us() + kPeriodicUs;
        push_due_updates();
    }
    session_stats_.connected_nodes = peers_.size();
}

void ControllerServer::handle_frame(const std::string& routing_id, const std::string& node_id,
                                    std::string_view frame, std::int64_t received_us) {
    auto decoded = protocol::decode(frame);
    // A connection without a session is answered in the terms of the frame it sent; one whose
    // version is unknown or not served, in the oldest served (which every served node reads).
    const std::uint32_t version = decoded ? decoded->version() : decoded.error().version;
    frame_version_ =
        version >= protocol::kOldestServedVersion && version <= protocol::kProtocolVersion
            ? protocol::accepted_version(version)
            : protocol::kOldestServedVersion;
    auto known = peers_.find(routing_id);
    std::string who = known != peers_.end() ? known->second.node_id : "(no hello yet)";
    if (!decoded) {
        spdlog::warn("node {}: refused frame: {}", who, decoded.error().message);
        send_error(routing_id, protocol::to_wire_code(decoded.error().code),
                   decoded.error().message, decoded.error().message_id);
        return;
    }
    const wire::Envelope& in = *decoded;
    if (in.body_case() == wire::Envelope::kHello) {
        handle_hello(routing_id, node_id, in);
        return;
    }
    if (known == peers_.end()) {
        // After a controller restart nodes are still connected but unknown: ask them to say
        // hello again instead of guessing who they are.
        send_error(routing_id, wire::NEED_HELLO, "send hello first", in.message_id());
        return;
    }
    Peer& peer = known->second;
    if (peer.node_id != node_id) {
        // A connection that took over a departed node's routing id (ZMQ_ROUTING_ID is the
        // peer's choice) still speaks with its own key: it gets nothing of that session.
        log_refusal({"node:" + node_id,
                     std::string("node.") + std::string(protocol::message_type(in)), peer.node_id,
                     "sent on the session of another node"});
        send_error(routing_id, wire::NOT_ALLOWED,
                   "this connection is not node '" + peer.node_id + "'", in.message_id());
        return;
    }
    peer.last_seen_us = received_us;
    switch (in.body_case()) {
        case wire::Envelope::kHeartbeat:
            handle_heartbeat(peer, routing_id, in, received_us);
            break;
        case wire::Envelope::kCommandResult:
            handle_command_result(peer, routing_id, in);
            break;
        case wire::Envelope::kScheduleAck:
            handle_schedule_ack(peer, in);
            break;
        case wire::Envelope::kManifestRequest:
            handle_manifest_request(routing_id, in);
            break;
        case wire::Envelope::kChunkRequest:
            handle_chunk_request(routing_id, in);
            break;
        case wire::Envelope::kMediaStatus:
            handle_media_status(peer, routing_id, in);
            break;
        case wire::Envelope::kPlaybackReport:
            handle_playback_report(peer, routing_id, in);
            break;
        default:
            spdlog::warn("node {}: unexpected {} refused", peer.node_id,
                         protocol::message_type(in));
            send_error(
                routing_id, wire::MALFORMED,
                std::string("a node does not send ") + std::string(protocol::message_type(in)),
                in.message_id());
    }
}

void ControllerServer::push_timeline(Peer& peer, const std::string& routing_id, bool force) {
    auto timeline = node_timeline(db_, peer.node_id, now_us());
    if (!timeline) {
        spdlog::error("node {}: cannot build timeline: {}", peer.node_id, timeline.error().message);
        return;
    }
    const std::string& hash = timeline->timeline_hash();
    if (hash == peer.acked_hash) {
        return;
    }
    bool stale = now_us() - peer.pushed_us > options_.resend_after_ms * 1000;
    if (!force && hash == peer.pushed_hash && !stale) {
        return;
    }
    peer.pushed_hash = hash;
    peer.pushed_us = now_us();
    spdlog::info("node {}: sending timeline {} ({} plays)", peer.node_id, hash.substr(0, 12),
                 timeline->slots_size());
    wire::Envelope out;
    *out.mutable_schedule_update() = std::move(*timeline);
    send(routing_id, std::move(out), 0);
}

void ControllerServer::push_due_updates() {
    std::int64_t version = 0;
    try {
        SQLite::Statement q(db_, "PRAGMA data_version");
        q.executeStep();
        version = q.getColumn(0).getInt64();
    } catch (const SQLite::Exception& e) {
        spdlog::error("database: {}", e.what());
        return;
    }
    // data_version moves when another connection (loactl) commits: campaigns, nodes or
    // commands changed.
    bool changed = version != data_version_;
    data_version_ = version;
    if (changed) {
        cut_off_revoked();
    }
    std::int64_t silent_after = 3 * options_.heartbeat_interval_ms * 1000;
    std::vector<std::string> routing_ids;
    for (const auto& [routing_id, peer] : peers_) {
        routing_ids.push_back(routing_id);
    }
    // By id, not by iterator: a failed send forgets the peer while we loop.
    for (const auto& routing_id : routing_ids) {
        auto it = peers_.find(routing_id);
        if (it == peers_.end()) {
            continue;
        }
        if (now_us() - it->second.last_seen_us > silent_after) {
            spdlog::info("node {}: silent for 3 heartbeats, session dropped", it->second.node_id);
            peers_.erase(it);
            continue;
        }
        // Unchanged data: only a stale unacked push (or time passing) is worth a recomputation.
        if (changed || now_us() - it->second.pushed_us > options_.resend_after_ms * 1000) {
            push_timeline(it->second, routing_id, false);
        }
        it = peers_.find(routing_id);  // a failed send forgets the peer
        if (it != peers_.end() && (changed || now_us() >= it->second.next_command_check_us)) {
            push_commands(it->second, routing_id);
        }
    }
}

bool ControllerServer::send(const std::string& routing_id, wire::Envelope envelope,
                            std::uint64_t in_reply_to) {
    envelope.set_message_id(next_message_id_++);
    envelope.set_in_reply_to(in_reply_to);
    std::string_view type = protocol::message_type(envelope);
    // Every message to a node is in the version agreed with it, so an older node never gets
    // anything its version does not know.
    auto known = peers_.find(routing_id);
    const std::uint32_t version = known != peers_.end() ? known->second.version : frame_version_;
    auto shaped = protocol::downgrade(std::move(envelope), version);
    if (!shaped) {
        spdlog::error("node {}: {} does not exist in protocol version {}; not sent",
                      known != peers_.end() ? known->second.node_id : "(unknown)", type, version);
        return false;
    }
    // Encoded straight into the ZeroMQ message: a media chunk is copied once, not twice.
    zmq::message_t bytes(protocol::prepare_encoding(*shaped, version));
    protocol::encode_into(*shaped, bytes.data());
    try {
        if (!router_.send(zmq::buffer(routing_id),
                          zmq::send_flags::sndmore | zmq::send_flags::dontwait)) {
            // The node's queue is full (send_queue_per_node): this message is dropped, the node
            // asks again when its request times out. Nothing else waits for this node.
            auto it = peers_.find(routing_id);
            session_stats_.sends_dropped.fetch_add(1, std::memory_order_relaxed);
            spdlog::debug("node {}: send queue full, {} dropped",
                          it != peers_.end() ? it->second.node_id : "(unknown)", type);
            return false;
        }
        router_.send(bytes, zmq::send_flags::dontwait);
        return true;
    } catch (const zmq::error_t& e) {
        // EHOSTUNREACH (ROUTER_MANDATORY): the node went away; it will say hello again.
        auto it = peers_.find(routing_id);
        spdlog::warn("node {}: send failed: {}",
                     it != peers_.end() ? it->second.node_id : "(unknown)", e.what());
        peers_.erase(routing_id);  // callers must not touch the peer after a failed send
        return false;
    }
}

void ControllerServer::send_error(const std::string& routing_id, wire::ErrorCode code,
                                  const std::string& message, std::uint64_t in_reply_to) {
    wire::Envelope out;
    out.mutable_error()->set_code(code);
    out.mutable_error()->set_message(message);
    send(routing_id, std::move(out), in_reply_to);
}

}  // namespace loa::controller
