// The gateway's loop: receive, decode, dispatch to a handler, queue what is to be stored, hand it
// to the writer once per round, and send the acks of what has committed.
#include "loa/controller/gateway/node_gateway.hpp"

#include <sys/eventfd.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <set>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "connection_peer.hpp"
#include "enrollment_gate.hpp"
#include "gateway_writes.hpp"
#include "loa/controller/booking/node_timeline.hpp"
#include "loa/controller/common/time_text.hpp"
#include "loa/controller/fleet/node_enrollment.hpp"
#include "loa/controller/fleet/node_registry.hpp"
#include "loa/protocol/envelope.hpp"
#include "loa/protocol/limits.hpp"
#include "loa/protocol/versions.hpp"

namespace loa::controller {

namespace {
constexpr std::int64_t kPeriodicUs = 500'000;
/// After a commit, the change counters are looked at no more often than this.
constexpr std::int64_t kChangeLookUs = 5'000;
/// A node's timeline is rebuilt at least this often even if nothing changed: the 7-day horizon
/// moves on, and plays booked beyond it come into it.
constexpr std::int64_t kHorizonRollUs = 3600LL * 1'000'000;

/// The port of a bound endpoint ("tcp://0.0.0.0:5599" → 5599), 0 when it has none.
std::uint16_t port_of(const std::string& endpoint) {
    const auto colon = endpoint.rfind(':');
    if (colon == std::string::npos) {
        return 0;
    }
    try {
        return static_cast<std::uint16_t>(std::stoi(endpoint.substr(colon + 1)));
    } catch (const std::exception&) {
        return 0;
    }
}
/// How long run() waits at the end for its last changes to commit.
constexpr std::int64_t kFinalFlushUs = 10'000'000;
}  // namespace

std::string NodeGateway::bound_endpoint() const {
    return router_.get(zmq::sockopt::last_endpoint);
}

std::string NodeGateway::bound_enroll_endpoint() const {
    return options_.enroll_endpoint.empty() ? std::string()
                                            : enroll_.get(zmq::sockopt::last_endpoint);
}

NodeGateway::NodeGateway(Store& store, media::ContentStore& content, GatewayOptions options)
    : store_(store),
      content_(content),
      options_(std::move(options)),
      context_(1),
      zap_(context_, zmq::socket_type::rep),
      router_(context_, zmq::socket_type::router),
      enroll_(context_, zmq::socket_type::router),
      router_monitor_(context_, zmq::socket_type::pair),
      pending_(std::make_unique<GatewayWrites>()) {
    wake_fd_ = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (wake_fd_ < 0) {
        throw std::system_error(errno, std::generic_category(), "eventfd");
    }
    // Whatever commits (the API's emergency, a plan) may be for nodes: look at once, not at the
    // next periodic round (up to half a second later; issue 18's fan-out).
    store_.writer().set_on_commit([this] {
        commit_seen_.store(true, std::memory_order_release);
        const std::uint64_t one = 1;
        [[maybe_unused]] const auto written = ::write(wake_fd_, &one, sizeof(one));
    });
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
    // A node that reconnects with the routing id it set itself takes over its old connection,
    // which may linger half-open on a 3G link; without this libzmq ignores the new one forever.
    // Who a frame comes from is still its connection's CURVE key (protocol/README.md).
    router_.set(zmq::sockopt::router_handover, 1);
    // libzmq does not say which connection a routing id leads to; a session notes the descriptor
    // of its HELLO and ends when that connection closes, so that a connection taking the routing
    // id afterwards is sent nothing of it.
    static std::atomic<int> next_monitor{0};
    const std::string monitor = fmt::format("inproc://loa-node-monitor-{}", next_monitor++);
    if (zmq_socket_monitor(router_.handle(), monitor.c_str(), ZMQ_EVENT_DISCONNECTED) != 0) {
        throw zmq::error_t();
    }
    router_monitor_.set(zmq::sockopt::linger, 0);
    router_monitor_.connect(monitor);
    router_.set(zmq::sockopt::sndhwm, options_.send_queue_per_node);
    router_.set(zmq::sockopt::zap_domain, std::string(kNodeDomain));
    enroll_.set(zmq::sockopt::zap_domain, std::string(kEnrollDomain));
    if (protocol::is_z85_key(options_.curve_keys.secret_key)) {
        for (auto* socket : {&router_, &enroll_}) {
            socket->set(zmq::sockopt::curve_server, 1);
            socket->set(zmq::sockopt::curve_secretkey, options_.curve_keys.secret_key);
        }
    }
    if (!options_.enroll_endpoint.empty()) {
        gate_ = std::make_unique<EnrollmentGate>(context_, enroll_, options_.enrollment,
                                                 session_stats_);
    }
}

NodeGateway::~NodeGateway() {
    // Answers of changes still committing are dropped with the sockets; the writer's callback
    // must not reach a gateway that is gone, so wait for it (bounded by the writer itself).
    const std::int64_t until = now_us() + kFinalFlushUs;
    while (true) {
        {
            std::lock_guard lock(completions_mutex_);
            if (!in_flight_ || !completions_.empty()) {
                break;
            }
        }
        if (now_us() > until) {
            break;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    store_.writer().set_on_commit({});
    if (wake_fd_ >= 0) {
        ::close(wake_fd_);
    }
}

Result<void> NodeGateway::bind() {
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
        spdlog::info("enrollment on {}", bound_enroll_endpoint());
    }
    push_due_updates();  // records the change counters
    return {};
}

void NodeGateway::run(const std::atomic<bool>& stop) {
    while (!stop.load()) {
        try {
            poll_once(100);
        } catch (const std::exception& e) {
            // The loop serves every node: one bad moment must not end it.
            spdlog::error("node gateway: {}; serving on", e.what());
        }
    }
    flush(true);
}

void NodeGateway::poll_once(int timeout_ms) {
    if (commit_seen_.load(std::memory_order_acquire)) {
        timeout_ms = std::min(timeout_ms, static_cast<int>(kChangeLookUs / 1000));  // look soon
    }
    const auto round_started = std::chrono::steady_clock::now();
    zmq::pollitem_t items[] = {{zap_.handle(), 0, ZMQ_POLLIN, 0},
                               {router_.handle(), 0, ZMQ_POLLIN, 0},
                               {enroll_.handle(), 0, ZMQ_POLLIN, 0},
                               {nullptr, wake_fd_, ZMQ_POLLIN, 0},
                               {router_monitor_.handle(), 0, ZMQ_POLLIN, 0},
                               {gate_ ? gate_->monitor().handle() : nullptr, 0, ZMQ_POLLIN, 0}};
    try {
        zmq::poll(items, gate_ ? 6 : 5, std::chrono::milliseconds(timeout_ms));
    } catch (const zmq::error_t& e) {
        if (e.num() != EINTR) {
            throw;
        }
        return;  // a signal (SIGTERM): let run() look at its stop flag
    }
    run_completions();
    // Before any frame or handshake: a connection's end is known before a frame of one that
    // took its descriptor or routing id (its handshake waits for the ZAP answer below).
    take_disconnects();
    if (gate_) {
        gate_->take_events(now_us());
    }
    // Handshakes first: a reconnection storm must not wait behind a batch of reports.
    for (int i = 0; i < 1000 && (items[0].revents & ZMQ_POLLIN); ++i) {
        if (!(zap_.get(zmq::sockopt::events) & ZMQ_POLLIN)) {
            break;
        }
        handle_zap_request();
    }
    // Drain what is waiting, a bounded batch so periodic work is never starved. What is to be
    // stored is queued and handed to the writer after the drain: one change for all of it.
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
                handle_enroll(routing_id, user_id != nullptr ? user_id : "", frame);
                continue;
            }
            handle_frame(routing_id, user_id != nullptr ? user_id : "", frame.to_string_view(),
                         received_us, zmq_msg_get(frame.handle(), ZMQ_SRCFD));
        }
    }
    flush(false);
    if (now_us() >= next_change_look_us_ && commit_seen_.exchange(false)) {
        // At most every few ms: the gateway's own commits (heartbeats, reports) wake it too,
        // and then the counters have not moved and this costs one small read.
        next_change_look_us_ = now_us() + kChangeLookUs;
        push_due_updates(false);
        flush(false);
    }
    if (now_us() >= next_periodic_us_) {
        next_periodic_us_ = now_us() + kPeriodicUs;
        push_due_updates();
        if (gate_) {
            gate_->sweep(now_us());
        }
        flush(false);
    }
    session_stats_.connected_nodes = peers_.size();
    const auto round =
        std::chrono::steady_clock::now() - round_started - std::chrono::milliseconds(timeout_ms);
    if (round > std::chrono::seconds(1)) {
        // Every node waited this long for its answers: a sign of the loop being held up.
        spdlog::warn("node gateway: a round took {} ms beyond its wait",
                     std::chrono::duration_cast<std::chrono::milliseconds>(round).count());
    }
}

void NodeGateway::flush(bool wait) {
    const std::int64_t until = now_us() + kFinalFlushUs;
    do {
        run_completions();
        if (!in_flight_ && !pending_->empty()) {
            in_flight_ = std::shared_ptr<GatewayWrites>(pending_.release());
            pending_ = std::make_unique<GatewayWrites>();
            auto batch = in_flight_;
            store_.writer().post([batch](WriteTx& tx) { return batch->store(tx, now_us()); },
                                 [this, batch](const Result<void>& stored) {
                                     if (!stored) {
                                         batch->commit_error = stored.error();
                                     }
                                     {
                                         std::lock_guard lock(completions_mutex_);
                                         completions_.push_back(batch);
                                     }
                                     const std::uint64_t one = 1;
                                     [[maybe_unused]] const auto written =
                                         ::write(wake_fd_, &one, sizeof(one));
                                 });
        }
        if (!wait || (!in_flight_ && pending_->empty())) {
            return;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
    } while (now_us() < until);
    spdlog::error("node gateway: changes still not committed after {} s",
                  kFinalFlushUs / 1'000'000);
}

void NodeGateway::take_disconnects() {
    for (int i = 0; i < 10'000; ++i) {
        zmq::message_t event;
        if (!router_monitor_.recv(event, zmq::recv_flags::dontwait)) {
            return;
        }
        zmq::message_t address;
        if (event.more()) {
            (void)router_monitor_.recv(address);  // the local endpoint, not needed
        }
        std::uint16_t kind = 0;
        std::uint32_t value = 0;
        if (event.size() < 6) {
            continue;
        }
        std::memcpy(&kind, event.data<char>(), 2);
        std::memcpy(&value, event.data<char>() + 2, 4);
        if (kind != ZMQ_EVENT_DISCONNECTED) {
            continue;
        }
        for (auto it = peers_.begin(); it != peers_.end();) {
            if (it->second.fd != static_cast<int>(value)) {
                ++it;
                continue;
            }
            spdlog::info("node {}: its connection closed, session ended", it->second.node_id);
            it = peers_.erase(it);
        }
    }
}

void NodeGateway::close_connection(const Peer& peer) {
    if (cut_connection(peer.fd, peer.remote)) {
        spdlog::debug("node {}: connection from {} closed", peer.node_id, peer.remote);
    }
}

void NodeGateway::handle_frame(const std::string& routing_id, const std::string& node_id,
                               std::string_view frame, std::int64_t received_us, int fd) {
    // ZMQ_ROUTER_HANDOVER gives a routing id to the newest connection that claims it (a node
    // reconnecting while its old connection lingers half-open): the session of the old one ends
    // here and its connection is closed, so nothing more of that session goes to this one,
    // whoever it is.
    std::string taken_from;
    if (auto old = peers_.find(routing_id);
        old != peers_.end() && fd >= 0 && old->second.fd >= 0 && old->second.fd != fd) {
        close_connection(old->second);
        if (old->second.node_id == node_id) {
            spdlog::info("node {}: a new connection took over its routing id", node_id);
        } else {
            taken_from = old->second.node_id;
            spdlog::warn(
                "node {}: a connection took over the routing id of node {}'s session, "
                "which ended",
                node_id.empty() ? "(no enrolled key)" : node_id, taken_from);
        }
        peers_.erase(old);
    }
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
        handle_hello(routing_id, node_id, in, fd);
        return;
    }
    if (!taken_from.empty()) {
        log_refusal({"node:" + node_id,
                     std::string("node.") + std::string(protocol::message_type(in)), taken_from,
                     "sent on the session of another node"});
        send_error(routing_id, wire::NOT_ALLOWED,
                   "this connection is not node '" + taken_from + "'", in.message_id());
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

void NodeGateway::push_timeline(Peer& peer, const std::string& routing_id, bool force,
                                std::optional<std::int64_t> version) {
    const std::int64_t now = now_us();
    if (!version) {
        try {
            SQLite::Statement q(reader(),
                                "SELECT version FROM node_schedule_versions WHERE node_id = ?");
            q.bind(1, peer.node_id);
            version = q.executeStep() ? q.getColumn(0).getInt64() : 0;
        } catch (const std::exception& e) {
            spdlog::error("node {}: cannot read its schedule version: {}", peer.node_id, e.what());
            return;
        }
    }
    auto timeline = node_timeline(reader(), peer.node_id, now);
    if (!timeline) {
        spdlog::error("node {}: cannot build timeline: {}", peer.node_id, timeline.error().message);
        return;
    }
    peer.schedule_version = *version;
    peer.built_us = now;
    const std::string& hash = timeline->timeline_hash();
    if (hash == peer.acked_hash) {
        return;
    }
    bool stale = now - peer.pushed_us > options_.resend_after_ms * 1000;
    if (!force && hash == peer.pushed_hash && !stale) {
        return;
    }
    peer.pushed_hash = hash;
    peer.pushed_us = now;
    spdlog::info("node {}: sending timeline {} ({} plays)", peer.node_id, hash.substr(0, 12),
                 timeline->slots_size());
    wire::Envelope out;
    *out.mutable_schedule_update() = std::move(*timeline);
    send(routing_id, std::move(out), 0);
}

void NodeGateway::push_due_updates(bool periodic) {
    ChangeCounters counters;
    try {
        counters = change_counters(reader());
    } catch (const std::exception& e) {
        spdlog::error("database: {}", e.what());
        return;
    }
    if (!periodic && counters_ && *counters_ == counters) {
        return;  // a commit of nothing for nodes (heartbeats, reports)
    }
    // The schema's counters move when anything commits a change to timelines, commands or keys
    // (the API, loactl, another process); heartbeats and reports move none of them.
    const bool schedule_changed = !counters_ || counters_->schedule != counters.schedule;
    const bool commands_changed = !counters_ || counters_->commands != counters.commands;
    if (!counters_ || counters_->keys != counters.keys) {
        cut_off_revoked();
    }
    counters_ = counters;
    // Which nodes' plays changed, and which nodes have commands waiting: only theirs are looked
    // at again (a thousand timelines rebuilt at every change would stall this loop).
    std::map<std::string, std::int64_t> versions;
    std::set<std::string> with_commands;
    try {
        if (schedule_changed) {
            SQLite::Statement q(reader(), "SELECT node_id, version FROM node_schedule_versions");
            while (q.executeStep()) {
                versions.emplace(q.getColumn(0).getString(), q.getColumn(1).getInt64());
            }
        }
        if (commands_changed) {
            SQLite::Statement q(reader(),
                                "SELECT DISTINCT node_id FROM commands WHERE state = 'pending'");
            while (q.executeStep()) {
                with_commands.insert(q.getColumn(0).getString());
            }
        }
    } catch (const std::exception& e) {
        spdlog::error("database: {}", e.what());
        return;
    }
    const std::int64_t now = now_us();
    const std::int64_t silent_after = 3 * options_.heartbeat_interval_ms * 1000;
    std::vector<std::string> routing_ids;
    routing_ids.reserve(peers_.size());
    for (const auto& [routing_id, peer] : peers_) {
        routing_ids.push_back(routing_id);
    }
    // By id, not by iterator: a failed send forgets the peer while we loop.
    for (const auto& routing_id : routing_ids) {
        auto it = peers_.find(routing_id);
        if (it == peers_.end()) {
            continue;
        }
        Peer& peer = it->second;
        if (now - peer.last_seen_us > silent_after) {
            spdlog::info("node {}: silent for 3 heartbeats, session dropped", peer.node_id);
            close_connection(peer);
            peers_.erase(it);
            continue;
        }
        std::optional<std::int64_t> version;
        if (auto v = versions.find(peer.node_id); v != versions.end()) {
            version = v->second;
        }
        const bool plays_changed = version && *version != peer.schedule_version;
        const bool unacked = !peer.pushed_hash.empty() && peer.pushed_hash != peer.acked_hash &&
                             now - peer.pushed_us > options_.resend_after_ms * 1000;
        const bool horizon_moved = now - peer.built_us > kHorizonRollUs;
        if (plays_changed || unacked || horizon_moved) {
            push_timeline(peer, routing_id, false, version);
        }
        it = peers_.find(routing_id);  // a failed send forgets the peer
        if (it == peers_.end()) {
            continue;
        }
        const bool commands_waiting = commands_changed && with_commands.contains(peer.node_id);
        const bool unanswered =
            !it->second.commands_sent_us.empty() && now >= it->second.next_command_check_us;
        if (commands_waiting || unanswered) {
            push_commands(it->second, routing_id);
        }
    }
}

bool NodeGateway::send(const std::string& routing_id, wire::Envelope envelope,
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

void NodeGateway::send_enroll_reply(const std::string& routing_id, wire::Envelope out,
                                    std::uint64_t in_reply_to) {
    out.set_message_id(next_message_id_++);
    out.set_in_reply_to(in_reply_to);
    try {
        enroll_.send(zmq::buffer(routing_id), zmq::send_flags::sndmore | zmq::send_flags::dontwait);
        enroll_.send(zmq::buffer(protocol::encode(std::move(out))), zmq::send_flags::dontwait);
    } catch (const zmq::error_t& e) {
        spdlog::warn("enrollment: reply lost: {}", e.what());
    }
}

std::uint64_t NodeGateway::highest_seq_of(const std::string& node_id) {
    std::uint64_t highest = pending_->highest_seq(node_id);
    if (in_flight_) {
        highest = std::max(highest, in_flight_->highest_seq(node_id));
    }
    try {
        SQLite::Statement q(reader(),
                            "SELECT highest_seq FROM confirmation_marks WHERE node_id = ?");
        q.bind(1, node_id);
        if (q.executeStep()) {
            highest = std::max(highest, static_cast<std::uint64_t>(q.getColumn(0).getInt64()));
        }
    } catch (const std::exception& e) {
        spdlog::error("node {}: cannot read its highest confirmation number: {}", node_id,
                      e.what());
    }
    return highest;
}

void NodeGateway::run_completions() {
    std::uint64_t drained = 0;
    [[maybe_unused]] const auto read = ::read(wake_fd_, &drained, sizeof(drained));
    std::deque<std::shared_ptr<GatewayWrites>> done;
    {
        std::lock_guard lock(completions_mutex_);
        done.swap(completions_);
    }
    for (auto& batch : done) {
        if (batch == in_flight_) {
            in_flight_.reset();
        }
        session_stats_.write_batches.fetch_add(1, std::memory_order_relaxed);
        const Error* failed = batch->commit_error ? &*batch->commit_error : nullptr;
        // A full disk is logged once by the writer when it begins; each round it lasts is not.
        const bool disk_full = failed && failed->code == Error::Code::storage_full;
        if (failed && !disk_full) {
            spdlog::error("node gateway: a change was not stored: {}", failed->message);
        }
        const std::int64_t now = now_us();
        for (auto& r : batch->reports) {
            const auto& acked =
                failed ? Result<std::vector<std::uint64_t>>(std::unexpected(*failed)) : r.acked;
            if (!acked) {
                // Not acked: the node keeps the confirmations; the error tells its log why. A
                // full disk is BUSY: nothing stored, the same report is welcome later.
                ++session_stats_.reports_refused;
                const auto code = acked.error().code;
                if (code == Error::Code::storage_full) {
                    spdlog::debug("node {}: report not stored: the disk is full", r.node_id);
                } else {
                    spdlog::warn("node {}: report refused: {}", r.node_id, acked.error().message);
                }
                send_error(r.routing_id,
                           code == Error::Code::invalid_input  ? wire::MALFORMED
                           : code == Error::Code::storage_full ? wire::BUSY
                                                               : wire::INTERNAL,
                           acked.error().message, r.envelope.message_id());
                continue;
            }
            spdlog::info("node {}: {} confirmation(s) stored", r.node_id, acked->size());
            session_stats_.confirmations_ingested += acked->size();
            std::int64_t latest_end = 0;
            for (const auto& c : r.envelope.playback_report().confirmations()) {
                latest_end = std::max<std::int64_t>(latest_end, c.actual_end_us());
            }
            if (latest_end > 0) {
                session_stats_.ingest_lag_us = now - latest_end;
            }
            wire::Envelope out;
            // Set even when the report held no confirmation: an envelope without a body is
            // refused by the node as malformed (found by fuzz_controller_handlers).
            auto* ack = out.mutable_report_ack();
            for (auto seq : *acked) {
                ack->add_seqs(seq);
            }
            send(r.routing_id, std::move(out), r.envelope.message_id());
        }
        for (auto& c : batch->command_results) {
            const auto& result = c.envelope.command_result();
            const auto& stored = failed ? Result<bool>(std::unexpected(*failed)) : c.stored;
            if (!stored) {
                // Not acked: the node keeps the result and sends it again.
                const auto code = stored.error().code;
                if (code != Error::Code::storage_full) {
                    spdlog::warn("node {}: command result refused: {}", c.node_id,
                                 stored.error().message);
                }
                send_error(c.routing_id,
                           code == Error::Code::invalid_input  ? wire::MALFORMED
                           : code == Error::Code::storage_full ? wire::BUSY
                                                               : wire::INTERNAL,
                           stored.error().message, c.envelope.message_id());
                continue;
            }
            if (auto peer = peers_.find(c.routing_id); peer != peers_.end()) {
                peer->second.commands_sent_us.erase(result.command_id());
            }
            if (*stored) {
                spdlog::info("node {}: command {} {}{}{}", c.node_id, result.command_id(),
                             result.ok() ? "done" : "failed", result.message().empty() ? "" : ": ",
                             result.message());
            } else {
                // Unknown, another node's, or answered before (the ack was lost).
                spdlog::info("node {}: result for command {} already stored or not expected",
                             c.node_id, result.command_id());
            }
            wire::Envelope out;
            out.mutable_command_ack()->set_command_id(result.command_id());
            send(c.routing_id, std::move(out), c.envelope.message_id());
        }
        for (auto& e : batch->enrollments) {
            const auto& enrolled =
                failed ? Result<EnrolledNode>(std::unexpected(*failed)) : e.enrolled;
            const std::uint64_t reply_to = e.envelope.message_id();
            if (!enrolled) {
                session_stats_.enrollments_refused.fetch_add(1, std::memory_order_relaxed);
                log_refusal({"key:" + e.public_key, "node.enroll", "", enrolled.error().message});
                wire::Envelope out;
                // A storage failure is the controller's: the device may try again (BUSY).
                const auto code = enrolled.error().code;
                out.mutable_error()->set_code(code == Error::Code::storage ||
                                                      code == Error::Code::storage_full
                                                  ? wire::BUSY
                                                  : wire::ENROLLMENT_REFUSED);
                out.mutable_error()->set_message(enrolled.error().message);
                send_enroll_reply(e.routing_id, std::move(out), reply_to);
                continue;
            }
            session_stats_.enrollments.fetch_add(1, std::memory_order_relaxed);
            const auto& enroll = e.envelope.enroll();
            spdlog::info("node {} enrolled key {} ({}, agent {}, host '{}')", enrolled->node_id,
                         e.public_key, enrolled->rotated ? "replacing its old key" : "first key",
                         enroll.agent_version(), enroll.hostname());
            wire::Envelope out;
            auto* answer = out.mutable_enrolled();
            answer->set_node_id(enrolled->node_id);
            answer->set_kind(enrolled->kind);
            answer->set_area_path(enrolled->area_path);
            answer->set_controller_public_key(options_.curve_keys.public_key);
            answer->set_node_port(port_of(bound_endpoint()));
            send_enroll_reply(e.routing_id, std::move(out), reply_to);
        }
    }
    // Another change may be waiting for this one to commit.
    if (!done.empty() && !in_flight_ && !pending_->empty()) {
        flush(false);
    }
}

void NodeGateway::send_error(const std::string& routing_id, wire::ErrorCode code,
                             const std::string& message, std::uint64_t in_reply_to) {
    wire::Envelope out;
    out.mutable_error()->set_code(code);
    out.mutable_error()->set_message(message);
    send(routing_id, std::move(out), in_reply_to);
}

}  // namespace loa::controller
