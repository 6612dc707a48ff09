// The comparison the fleet benchmark makes (issue 18): the same payload fanned out by an MQTT
// broker (Debian's mosquitto) at QoS 1 to N clients, each answering, as loa's emergency is.
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

namespace loa::bench {

struct MqttFanoutOptions {
    std::string mosquitto = "/usr/sbin/mosquitto";
    std::filesystem::path dir;  ///< its configuration and log go here
    int clients = 10'000;
    std::string payload;  ///< what is published (loa's emergency command, serialised)
    std::chrono::seconds timeout{120};
    /// Clients in each client process: libmosquitto holds three descriptors a client.
    int per_process = 5'000;
};

struct MqttFanoutResult {
    int clients = 0;
    int connected = 0;  ///< CONNACK and SUBACK received
    int delivered = 0;  ///< the publication reached the client
    int answered = 0;   ///< the client's answer reached the application that published
    double connect_s = 0;
    /// From the publish call to each client's receipt, and to its answer reaching the
    /// publishing application (through the broker: publish → broker → client → broker → app).
    std::vector<double> delivered_ms;
    std::vector<double> answered_ms;
    std::uint64_t broker_rss_idle_kib = 0;
    std::uint64_t broker_rss_connected_kib = 0;
    double broker_cpu_s = 0;  ///< over the fan-out, publish to last answer
    std::string error;        ///< empty when the run went through
};

/// Starts mosquitto on a free loopback port (no persistence, no queue limits, so that nothing is
/// dropped), connects the clients from forked processes (one thread each: epoll over
/// libmosquitto's sockets, as loa-sim drives its nodes), subscribes each to one topic at QoS 1,
/// publishes the payload once at QoS 1 from this process and collects every client's QoS 1
/// answer on a second topic.
MqttFanoutResult run_mqtt_fanout(const MqttFanoutOptions& options);

}  // namespace loa::bench
