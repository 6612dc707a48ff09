// N libmosquitto clients on one epoll thread against a mosquitto it starts (mqtt_fleet.hpp).
#include "mqtt_fleet.hpp"

#include <sys/epoll.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <mosquitto.h>

#include <atomic>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <memory>
#include <new>
#include <stdexcept>
#include <thread>

#include <fmt/core.h>

#include "bench_support.hpp"
#include "fleet_support.hpp"

namespace fs = std::filesystem;
using namespace std::chrono_literals;

namespace loa::bench {
namespace {

constexpr const char* kOrderTopic = "loa/emergency";
constexpr const char* kAnswerPrefix = "loa/answer/";

struct Fleet;

/// One client: an MQTT "node" (index >= 0) or the application that publishes and collects.
struct Client {
    Fleet* fleet = nullptr;
    int index = -1;  ///< -1: the application
    mosquitto* m = nullptr;
    bool connected = false;
    bool subscribed = false;
    bool dead = false;
};

struct Fleet {
    std::vector<std::unique_ptr<Client>> clients;
    std::int64_t published_us = 0;
    std::atomic<std::int64_t>* delivered_us = nullptr;  ///< shared by the client processes
    std::vector<std::int64_t> answered_us;
    int subscribed = 0;
    int delivered = 0;
    int answered = 0;
    std::string error;
};

void on_connect(mosquitto* m, void* obj, int rc) {
    auto* c = static_cast<Client*>(obj);
    if (rc != 0) {
        c->dead = true;
        c->fleet->error = fmt::format("CONNACK {}: {}", rc, mosquitto_connack_string(rc));
        return;
    }
    c->connected = true;
    const std::string topic = c->index < 0 ? std::string(kAnswerPrefix) + "+" : kOrderTopic;
    mosquitto_subscribe(m, nullptr, topic.c_str(), 1);
}

void on_subscribe(mosquitto*, void* obj, int, int, const int*) {
    auto* c = static_cast<Client*>(obj);
    if (!c->subscribed) {
        c->subscribed = true;
        ++c->fleet->subscribed;
    }
}

void on_message(mosquitto* m, void* obj, const mosquitto_message* message) {
    auto* c = static_cast<Client*>(obj);
    Fleet& f = *c->fleet;
    const std::int64_t now = now_us();
    if (c->index >= 0) {
        std::int64_t unset = 0;
        if (f.delivered_us[c->index].compare_exchange_strong(unset, now)) {
            ++f.delivered;
        }
        // The answer, as a node's COMMAND-RESULT: who, and that it was carried out.
        const std::string topic = fmt::format("{}{}", kAnswerPrefix, c->index);
        const std::string body = fmt::format("{{\"ok\":true,\"bytes\":{}}}", message->payloadlen);
        mosquitto_publish(m, nullptr, topic.c_str(), static_cast<int>(body.size()), body.data(), 1,
                          false);
        return;
    }
    const std::string topic = message->topic;
    const int who = std::atoi(topic.c_str() + std::strlen(kAnswerPrefix));
    if (who >= 0 && who < static_cast<int>(f.answered_us.size()) &&
        f.answered_us[static_cast<std::size_t>(who)] == 0) {
        f.answered_us[static_cast<std::size_t>(who)] = now;
        ++f.answered;
    }
}

/// Reads and writes what each ready client has; a client whose connection broke is marked dead.
void service(Fleet& f, int epoll_fd, int wait_ms) {
    epoll_event events[256];
    const int n = ::epoll_wait(epoll_fd, events, 256, wait_ms);
    for (int i = 0; i < n; ++i) {
        Client& c = *f.clients[events[i].data.u32];
        if (c.dead) {
            continue;
        }
        if (mosquitto_loop_read(c.m, 1) != MOSQ_ERR_SUCCESS) {
            c.dead = true;
            ::epoll_ctl(epoll_fd, EPOLL_CTL_DEL, mosquitto_socket(c.m), nullptr);
            continue;
        }
    }
    // Callbacks queue what they send; write everything that waits (cheap: a flag per client).
    for (auto& c : f.clients) {
        if (!c->dead && mosquitto_want_write(c->m)) {
            if (mosquitto_loop_write(c->m, 1) != MOSQ_ERR_SUCCESS) {
                c->dead = true;
            }
        }
    }
}

Client& add_client(Fleet& f, int index, int port, int epoll_fd) {
    auto c = std::make_unique<Client>();
    c->fleet = &f;
    c->index = index;
    const std::string id = index < 0 ? std::string("loa-app") : fmt::format("node-{:05}", index);
    c->m = mosquitto_new(id.c_str(), true, c.get());
    if (c->m == nullptr) {
        throw std::runtime_error("mosquitto_new failed");
    }
    mosquitto_int_option(c->m, MOSQ_OPT_PROTOCOL_VERSION, MQTT_PROTOCOL_V311);
    mosquitto_connect_callback_set(c->m, on_connect);
    mosquitto_subscribe_callback_set(c->m, on_subscribe);
    mosquitto_message_callback_set(c->m, on_message);
    if (index < 0) {
        mosquitto_max_inflight_messages_set(c->m, 0);
    }
    // Keepalive 10 minutes: no PINGREQ in the run, as loa's nodes send no heartbeat in it either.
    if (const int rc = mosquitto_connect(c->m, "127.0.0.1", port, 600); rc != MOSQ_ERR_SUCCESS) {
        throw std::runtime_error(fmt::format("client {}: connect: {}", id, mosquitto_strerror(rc)));
    }
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.u32 = static_cast<std::uint32_t>(f.clients.size());
    ::epoll_ctl(epoll_fd, EPOLL_CTL_ADD, mosquitto_socket(c->m), &ev);
    f.clients.push_back(std::move(c));
    return *f.clients.back();
}

}  // namespace

namespace {

/// What the client processes share with the benchmark.
struct Shared {
    std::atomic<bool> stop{false};
    std::atomic<int> subscribed{0};  ///< clients connected and subscribed, over every process
    std::atomic<int> failed{0};
    char failure[256] = {};
};

/// A client process: connects its share of the clients (`first` to `last`), serves them until
/// told to stop. Three descriptors a client (its socket and libmosquitto's socket pair).
[[noreturn]] void run_clients(int first, int last, int port, Shared& shared,
                              std::atomic<std::int64_t>* delivered_us) {
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    mosquitto_lib_init();
    Fleet f;
    f.delivered_us = delivered_us;
    const int epoll_fd = ::epoll_create1(EPOLL_CLOEXEC);
    int counted = 0;
    auto publish_count = [&] {
        shared.subscribed.fetch_add(f.subscribed - counted);
        counted = f.subscribed;
    };
    try {
        // Connect in steps, serving the broker's answers between them, so that the listen
        // backlog never overflows (a refused SYN would cost a second).
        for (int i = first; i < last; ++i) {
            add_client(f, i, port, epoll_fd);
            if ((i - first) % 200 == 199) {
                for (int k = 0; k < 20 && f.subscribed < i - first + 1; ++k) {
                    service(f, epoll_fd, 5);
                }
                publish_count();
            }
        }
        while (!shared.stop.load()) {
            service(f, epoll_fd, 5);
            publish_count();
            if (!f.error.empty()) {
                throw std::runtime_error(f.error);
            }
        }
    } catch (const std::exception& e) {
        std::snprintf(shared.failure, sizeof shared.failure, "%s", e.what());
        shared.failed.fetch_add(1);
    }
    ::_exit(0);
}

}  // namespace

MqttFanoutResult run_mqtt_fanout(const MqttFanoutOptions& o) {
    MqttFanoutResult r;
    r.clients = o.clients;
    const int port = free_tcp_port();
    const fs::path conf = o.dir / "mosquitto.conf";
    {
        std::ofstream out(conf);
        // Nothing may be dropped: no limit on messages in flight or queued per client (the
        // application receives one answer per client), no persistence (loa's store is durable;
        // the broker here keeps messages in memory only).
        out << fmt::format(
            "listener {} 127.0.0.1\nallow_anonymous true\npersistence false\n"
            "max_inflight_messages 0\nmax_queued_messages 0\nmax_connections -1\n"
            "set_tcp_nodelay true\nuser root\nlog_dest stdout\nlog_type error\n"
            "log_type warning\n",
            port);
    }
    Child broker({o.mosquitto, "-c", conf.string()}, o.dir / "mosquitto.log");
    std::this_thread::sleep_for(300ms);
    if (!broker.running()) {
        r.error = "mosquitto did not start: " + read_text(o.dir / "mosquitto.log");
        return r;
    }
    r.broker_rss_idle_kib = proc_status_value(broker.pid(), "VmRSS");

    // Shared with the client processes: the flags, and when each client got the publication.
    const std::size_t bytes =
        sizeof(Shared) + static_cast<std::size_t>(o.clients) * sizeof(std::atomic<std::int64_t>);
    void* memory =
        ::mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (memory == MAP_FAILED) {
        r.error = "mmap failed";
        return r;
    }
    auto* shared = new (memory) Shared();
    auto* delivered_us = new (static_cast<unsigned char*>(memory) + sizeof(Shared))
        std::atomic<std::int64_t>[static_cast<std::size_t>(o.clients)];
    std::vector<pid_t> processes;
    const auto t0 = std::chrono::steady_clock::now();
    for (int first = 0; first < o.clients; first += o.per_process) {
        const pid_t pid = ::fork();
        if (pid == 0) {
            run_clients(first, std::min(o.clients, first + o.per_process), port, *shared,
                        delivered_us);
        }
        if (pid > 0) {
            processes.push_back(pid);
        }
    }

    mosquitto_lib_init();
    Fleet f;
    f.delivered_us = delivered_us;
    f.answered_us.assign(static_cast<std::size_t>(o.clients), 0);
    const int epoll_fd = ::epoll_create1(EPOLL_CLOEXEC);
    try {
        Client& app = add_client(f, -1, port, epoll_fd);
        const auto deadline = t0 + o.timeout;
        while ((shared->subscribed.load() < o.clients || !app.subscribed) &&
               shared->failed.load() == 0 && std::chrono::steady_clock::now() < deadline) {
            service(f, epoll_fd, 10);
        }
        r.connect_s = seconds_since(t0);
        r.connected = shared->subscribed.load();
        std::this_thread::sleep_for(500ms);  // the broker settles
        r.broker_rss_connected_kib = proc_status_value(broker.pid(), "VmRSS");
        if (!app.subscribed || r.connected < o.clients) {
            r.error = fmt::format("only {} of {} clients connected and subscribed {}", r.connected,
                                  o.clients, shared->failure);
        }

        const double cpu0 = proc_cpu_seconds(broker.pid());
        f.published_us = now_us();
        mosquitto_publish(app.m, nullptr, kOrderTopic, static_cast<int>(o.payload.size()),
                          o.payload.data(), 1, false);
        const auto fan_deadline = std::chrono::steady_clock::now() + o.timeout;
        while (f.answered < r.connected && std::chrono::steady_clock::now() < fan_deadline) {
            service(f, epoll_fd, 5);
        }
        r.broker_cpu_s = proc_cpu_seconds(broker.pid()) - cpu0;
    } catch (const std::exception& e) {
        r.error = e.what();
    }
    shared->stop.store(true);
    for (const pid_t pid : processes) {
        ::waitpid(pid, nullptr, 0);
    }
    r.answered = f.answered;
    for (std::size_t i = 0; i < static_cast<std::size_t>(o.clients); ++i) {
        const std::int64_t delivered = delivered_us[i].load();
        if (delivered != 0) {
            ++r.delivered;
            r.delivered_ms.push_back(static_cast<double>(delivered - f.published_us) / 1e3);
        }
        if (f.answered_us[i] != 0) {
            r.answered_ms.push_back(static_cast<double>(f.answered_us[i] - f.published_us) / 1e3);
        }
    }
    for (auto& c : f.clients) {
        mosquitto_destroy(c->m);
    }
    ::close(epoll_fd);
    mosquitto_lib_cleanup();
    ::munmap(memory, bytes);
    broker.stop(true, 5s);
    return r;
}

}  // namespace loa::bench
