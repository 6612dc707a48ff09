// loa-node: the node agent on a loudspeaker cluster or LED board, until SIGINT or SIGTERM.
#include <atomic>
#include <csignal>

#include <spdlog/spdlog.h>
#include <CLI/CLI.hpp>

#include "loa/node/node_agent.hpp"

namespace {
std::atomic<bool> g_stop{false};
}

int main(int argc, char** argv) {
    CLI::App app{"loa node agent: plays its controller's schedule and confirms every play"};
    loa::node::AgentOptions options;
    std::string sink = "auto";
    app.add_option("--id", options.node_id, "this node's id, as registered")->required();
    app.add_option("--controller", options.controller, "controller endpoint");
    app.add_option("--data", options.data_dir, "data directory (store and media cache)");
    app.add_option("--sink", sink, "auto, alsa[:device], file:<dir> or fake");
    double prefetch_days = 7;
    app.add_option("--prefetch-days", prefetch_days,
                   "fetch media for plays this many days ahead (default 7)")
        ->check(CLI::Range(0.01, 60.0));
    app.add_option("--max-window", options.fetch.max_window,
                   "most chunk requests in flight (default 16)")
        ->check(CLI::Range(1, 64));
    double max_kbps = 0;
    app.add_option("--max-kbps", max_kbps,
                   "metered links: fetch media at most this many kbit/s (default: no limit)")
        ->check(CLI::Range(1.0, 1e7));
    double reverify_s = 3600;
    app.add_option("--reverify-every", reverify_s,
                   "seconds between checks of each cached file against its hash (default 3600)")
        ->check(CLI::Range(0.1, 1e7));
    CLI11_PARSE(app, argc, argv);
    options.fetch.max_bytes_per_s = static_cast<std::uint64_t>(max_kbps * 1000 / 8);
    options.fetch.reverify_interval_us = static_cast<std::int64_t>(reverify_s * 1e6);
    options.prefetch_horizon_us = static_cast<std::int64_t>(prefetch_days * 86'400e6);

    auto parsed = loa::node::SinkSpec::parse(sink);
    if (!parsed) {
        spdlog::critical("--sink: {}", parsed.error());
        return 2;
    }
    options.sink = *parsed;
    std::signal(SIGINT, [](int) { g_stop = true; });
    std::signal(SIGTERM, [](int) { g_stop = true; });
    try {
        loa::node::NodeAgent agent(options);
        agent.run(g_stop);
    } catch (const std::exception& e) {
        spdlog::critical("{}", e.what());
        return 1;
    }
    spdlog::info("node {} stopped", options.node_id);
    return 0;
}
