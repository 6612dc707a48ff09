// Writes the seed corpora of the fuzz targets: valid frames of every message, and sample plans.
//   make_seeds OUT_DIR REPO_ROOT  → OUT_DIR/{fuzz_envelope,fuzz_controller_handlers,fuzz_plan_file}
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iterator>
#include <string>
#include <utility>
#include <vector>

#include "controller_inputs.hpp"
#include "loa/media/content_hash.hpp"
#include "loa/protocol/envelope.hpp"

namespace {

namespace fs = std::filesystem;
using namespace loa;

// A fixed time (2026-11-24T05:30:00+07:00): seeds are the same on every run.
constexpr std::int64_t kNow = 1'795'473'000LL * 1'000'000;
const std::string kOtherHash(64, 'a');

void write(const fs::path& file, const std::string& bytes) {
    std::ofstream out(file, std::ios::binary | std::ios::trunc);
    out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    if (!out) {
        std::fprintf(stderr, "make_seeds: cannot write %s\n", file.c_str());
        std::exit(1);
    }
}

std::string read(const fs::path& file) {
    std::ifstream in(file, std::ios::binary);
    return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

/// An envelope as a node (or the controller) would send it.
std::string frame(const std::function<void(wire::Envelope&)>& fill, std::uint64_t id = 1) {
    wire::Envelope e;
    e.set_message_id(id);
    fill(e);
    return protocol::encode(std::move(e));
}

wire::Confirmation confirmation(std::uint64_t seq, wire::Outcome outcome) {
    wire::Confirmation c;
    c.set_seq(seq);
    c.set_slot_id("fz-campaign:item-1:fz-node-1:" + std::to_string(seq));
    c.set_campaign_id("fz-campaign");
    c.set_item_id("item-1");
    c.set_media_hash(kOtherHash);
    c.set_planned_start_us(kNow + static_cast<std::int64_t>(seq) * 60'000'000);
    c.set_outcome(outcome);
    if (outcome == wire::PLAYED || outcome == wire::INTERRUPTED) {
        c.set_actual_start_us(c.planned_start_us() + 1200);
        c.set_actual_end_us(c.actual_start_us() + 1'000'000);
        auto* levels = c.mutable_levels();
        levels->set_rms_dbfs(-23.5);
        levels->set_peak_dbfs(-3.0);
        levels->set_silent_seconds(0.1);
        levels->set_measured_seconds(1.0);
        levels->set_silence_threshold_dbfs(-50);
    } else {
        c.set_reason(outcome == wire::SKIPPED ? "late" : "media-missing");
    }
    return c;
}

/// Every message of the protocol, by name: what nodes send, then what the controller sends.
std::vector<std::pair<std::string, std::string>> messages(const std::string& blob_hash) {
    std::vector<std::pair<std::string, std::string>> m;
    m.emplace_back("hello", frame([](wire::Envelope& e) {
                       auto* h = e.mutable_hello();
                       h->set_node_id("fz-node-1");
                       h->set_agent_version("0.1.0");
                       h->set_node_time_us(kNow);
                   }));
    m.emplace_back("hello-no-id", frame([](wire::Envelope& e) {
                       e.mutable_hello()->set_agent_version("0.1.0");
                       e.mutable_hello()->set_timeline_hash(kOtherHash);
                   }));
    m.emplace_back("heartbeat", frame([](wire::Envelope& e) {
                       auto* h = e.mutable_heartbeat();
                       h->set_node_time_us(kNow);
                       h->set_state("playing");
                       h->set_current_slot_id("fz-campaign:item-1:fz-node-1:1");
                       h->set_outbox_pending(2);
                       h->set_media_missing(1);
                       h->set_current_title("Bản tin");
                       h->set_volume_percent(70);
                       h->set_storage_free_bytes(1ULL << 30);
                       h->set_cpu_temp_millicelsius(48'500);
                       h->set_link_interface("wwan0");
                       h->set_link_type("cellular");
                       h->set_link_signal_dbm(-85);
                       h->set_clock_offset_us(-1500);
                       h->set_clock_round_trip_us(40'000);
                       h->set_agent_version("0.1.0");
                       h->set_schedule_horizon_end_us(kNow + 7 * 86'400'000'000LL);
                       h->set_runway_end_us(kNow + 6 * 86'400'000'000LL);
                       h->set_last_seq(5);
                       h->set_amplifier_on(true);
                   }));
    m.emplace_back("heartbeat-minimal", frame([](wire::Envelope& e) {
                       e.mutable_heartbeat()->set_node_time_us(kNow);
                       e.mutable_heartbeat()->set_state("idle");
                   }));
    m.emplace_back("schedule-ack", frame([](wire::Envelope& e) {
                       e.mutable_schedule_ack()->set_timeline_hash(kOtherHash);
                   }));
    m.emplace_back("manifest-request", frame([&](wire::Envelope& e) {
                       e.mutable_manifest_request()->set_media_hash(blob_hash);
                   }));
    m.emplace_back("manifest-request-unknown", frame([](wire::Envelope& e) {
                       e.mutable_manifest_request()->set_media_hash(kOtherHash);
                   }));
    m.emplace_back("manifest-request-path", frame([](wire::Envelope& e) {
                       e.mutable_manifest_request()->set_media_hash("../controller.db");
                   }));
    for (std::uint64_t offset : {0ULL, 65536ULL, 3ULL * 65536, 1ULL << 40}) {
        m.emplace_back("chunk-request-" + std::to_string(offset), frame([&](wire::Envelope& e) {
                           auto* r = e.mutable_chunk_request();
                           r->set_media_hash(blob_hash);
                           r->set_offset(offset);
                           r->set_length(65536);
                       }));
    }
    m.emplace_back("chunk-request-huge", frame([&](wire::Envelope& e) {
                       auto* r = e.mutable_chunk_request();
                       r->set_media_hash(blob_hash);
                       r->set_offset(100);
                       r->set_length(0xffffffffU);
                   }));
    m.emplace_back("media-status", frame([&](wire::Envelope& e) {
                       auto* s = e.mutable_media_status();
                       s->set_horizon_end_us(kNow + 7 * 86'400'000'000LL);
                       const wire::MediaState states[] = {wire::MEDIA_READY, wire::MEDIA_FETCHING,
                                                          wire::MEDIA_QUEUED,
                                                          wire::MEDIA_UNAVAILABLE};
                       int n = 0;
                       for (auto state : states) {
                           auto* item = s->add_items();
                           item->set_media_hash(n == 0 ? blob_hash : std::string(64, 'b' + n));
                           item->set_state(state);
                           item->set_bytes_held(n * 65536);
                           item->set_total_size(3 * 65536 + 1000);
                           item->set_needed_at_us(kNow + n * 3'600'000'000LL);
                           ++n;
                       }
                   }));
    m.emplace_back("playback-report", frame([](wire::Envelope& e) {
                       auto* r = e.mutable_playback_report();
                       *r->add_confirmations() = confirmation(1, wire::PLAYED);
                       *r->add_confirmations() = confirmation(2, wire::FAILED);
                       *r->add_confirmations() = confirmation(3, wire::SKIPPED);
                       auto interrupted = confirmation(4, wire::INTERRUPTED);
                       interrupted.set_offset_us(250'000);
                       *r->add_confirmations() = interrupted;
                       auto panel = confirmation(5, wire::PLAYED);
                       panel.clear_levels();
                       panel.set_frames_rendered(250);
                       *r->add_confirmations() = panel;
                   }));
    m.emplace_back("playback-report-emergency", frame([](wire::Envelope& e) {
                       auto c = confirmation(6, wire::PLAYED);
                       c.set_slot_id("emergency:kc-20261124-053000:1");
                       c.set_emergency_id("kc-20261124-053000");
                       *e.mutable_playback_report()->add_confirmations() = c;
                   }));
    m.emplace_back("playback-report-refused", frame([](wire::Envelope& e) {
                       auto c = confirmation(7, wire::PLAYED);
                       c.set_actual_end_us(c.actual_start_us() - 1);  // kept apart, still acked
                       *e.mutable_playback_report()->add_confirmations() = c;
                   }));
    for (std::size_t i = 0; i < loa::fuzz::kCommandIds.size(); ++i) {
        m.emplace_back("command-result-" + std::to_string(i + 1), frame([&](wire::Envelope& e) {
                           auto* r = e.mutable_command_result();
                           r->set_command_id(loa::fuzz::kCommandIds[i]);
                           r->set_ok(i != 1);
                           r->set_message(i == 1 ? "no amplifier relay" : "done");
                           if (i == 2) {
                               r->set_log_tail("2026-11-24 05:30:00 agent started\n");
                           }
                           r->set_done_us(kNow);
                       }));
    }
    m.emplace_back(
        "enroll", frame([](wire::Envelope& e) {
            auto* r = e.mutable_enroll();
            r->set_token(std::string(loa::fuzz::kTokenPlaceholder));
            r->set_public_key(loa::fuzz::fixed_key_pair(loa::fuzz::kEnrollingKey).public_key);
            r->set_agent_version("0.1.0");
            r->set_hostname("loa-ta-van-01");
        }));
    // What only the controller sends: a node sending it is refused.
    m.emplace_back("welcome", frame([](wire::Envelope& e) {
                       e.mutable_welcome()->set_accepted_version(protocol::kProtocolVersion);
                       e.mutable_welcome()->set_controller_time_us(kNow);
                       e.mutable_welcome()->set_heartbeat_interval_ms(30'000);
                   }));
    m.emplace_back("heartbeat-ack", frame([](wire::Envelope& e) {
                       e.mutable_heartbeat_ack()->set_node_time_us(kNow);
                       e.mutable_heartbeat_ack()->set_controller_receive_us(kNow + 10);
                       e.mutable_heartbeat_ack()->set_controller_send_us(kNow + 20);
                   }));
    m.emplace_back("schedule-update", frame([&](wire::Envelope& e) {
                       auto* u = e.mutable_schedule_update();
                       u->set_timeline_hash(kOtherHash);
                       u->set_generated_us(kNow);
                       u->set_horizon_end_us(kNow + 7 * 86'400'000'000LL);
                       auto* s = u->add_slots();
                       s->set_slot_id("fz-campaign:item-1:fz-node-1:1");
                       s->set_campaign_id("fz-campaign");
                       s->set_media_hash(blob_hash);
                       s->set_start_us(kNow + 60'000'000);
                       s->set_duration_us(1'000'000);
                       s->set_kind(wire::SLOT_IMAGE);
                       s->set_display_us(1'000'000);
                   }));
    m.emplace_back("chunk", frame([&](wire::Envelope& e) {
                       e.mutable_chunk()->set_media_hash(blob_hash);
                       e.mutable_chunk()->set_total_size(3 * 65536 + 1000);
                       e.mutable_chunk()->set_data(std::string(64, 'x'));
                   }));
    m.emplace_back("manifest", frame([&](wire::Envelope& e) {
                       e.mutable_manifest()->set_media_hash(blob_hash);
                       e.mutable_manifest()->set_total_size(3 * 65536 + 1000);
                       e.mutable_manifest()->set_chunk_size(65536);
                       e.mutable_manifest()->set_chunk_digests(std::string(4 * 32, '\x11'));
                   }));
    m.emplace_back("report-ack", frame([](wire::Envelope& e) {
                       e.mutable_report_ack()->add_seqs(1);
                       e.mutable_report_ack()->add_seqs(2);
                   }));
    m.emplace_back("error", frame([](wire::Envelope& e) {
                       e.mutable_error()->set_code(wire::NEED_HELLO);
                       e.mutable_error()->set_message("send hello first");
                   }));
    m.emplace_back("command", frame([&](wire::Envelope& e) {
                       auto* c = e.mutable_command();
                       c->set_command_id(4);
                       c->set_issued_us(kNow);
                       auto* em = c->mutable_emergency();
                       em->set_emergency_id("kc-20261124-053000");
                       em->set_media_hash(blob_hash);
                       em->set_repeat(2);
                       em->set_expires_us(kNow + 3'600'000'000LL);
                   }));
    m.emplace_back("command-ack",
                   frame([](wire::Envelope& e) { e.mutable_command_ack()->set_command_id(1); }));
    m.emplace_back("enrolled", frame([](wire::Envelope& e) {
                       auto* r = e.mutable_enrolled();
                       r->set_node_id("fz-node-1");
                       r->set_kind("speaker");
                       r->set_area_path(std::string(loa::fuzz::kArea));
                       r->set_controller_public_key(
                           loa::fuzz::fixed_key_pair(loa::fuzz::kControllerKey).public_key);
                       r->set_node_port(5599);
                   }));
    // Protocol version 1 is still served; encode() stamps the current one, so set it by hand.
    {
        wire::Envelope e;
        e.set_version(1);
        e.set_message_id(1);
        e.mutable_hello()->set_node_id("fz-node-1");
        m.emplace_back("hello-v1", e.SerializeAsString());
    }
    return m;
}

void envelope_seeds(const fs::path& out,
                    const std::vector<std::pair<std::string, std::string>>& m) {
    for (const auto& [name, bytes] : m) {
        write(out / (name + ".bin"), bytes);
    }
}

void controller_seeds(const fs::path& out,
                      const std::vector<std::pair<std::string, std::string>>& m) {
    using loa::fuzz::record;
    using loa::fuzz::selector;
    const std::string& hello = m.front().second;
    const auto node1 = selector(0, 0);
    for (const auto& [name, bytes] : m) {
        // Hello first, so the message reaches its handler in a session...
        write(out / ("session-" + name + ".bin"), record(node1, hello) + record(node1, bytes));
        // ... and without one (NEED_HELLO), from a connection that is gone.
        write(out / ("alone-" + name + ".bin"), record(selector(3, 0), bytes));
    }
    // Sessions that go further.
    auto find = [&](const std::string& name) {
        for (const auto& [n, bytes] : m) {
            if (n == name) {
                return bytes;
            }
        }
        std::fprintf(stderr, "make_seeds: no message %s\n", name.c_str());
        std::exit(1);
    };
    std::string fetch = record(node1, hello) + record(node1, find("manifest-request"));
    for (const char* chunk : {"chunk-request-0", "chunk-request-65536", "chunk-request-196608"}) {
        fetch += record(node1, find(chunk));
    }
    write(out / "fetch-whole-file.bin", fetch);
    std::string commands = record(node1, hello);
    for (int i = 1; i <= 3; ++i) {
        commands += record(node1, find("command-result-" + std::to_string(i)));
    }
    write(out / "answer-commands.bin", commands + record(node1, find("command-result-1")));
    write(out / "day-of-a-node.bin",
          record(node1, hello) + record(node1, find("schedule-ack")) +
              record(node1, find("heartbeat")) + record(node1, find("media-status")) +
              record(node1, find("playback-report")) + record(node1, find("playback-report")));
    // Two nodes at once, a node reconnecting from another connection, a hello that the
    // authenticated identity contradicts, an unknown node, a session lost then resumed.
    write(out / "two-nodes.bin",
          record(node1, hello) + record(selector(1, 1), find("hello-no-id")) +
              record(selector(1, 1), find("heartbeat")) + record(node1, find("heartbeat")));
    write(out / "reconnect.bin", record(node1, hello) + record(selector(2, 0), hello) +
                                     record(node1, find("heartbeat")) +
                                     record(selector(2, 0), find("heartbeat")));
    write(out / "identity-mismatch.bin", record(selector(0, 1), hello));
    write(out / "unknown-node.bin", record(selector(0, 2), hello));
    write(out / "no-identity.bin", record(selector(0, 3), find("hello-no-id")));
    write(out / "gone-hello.bin", record(selector(3, 0), hello) + record(node1, hello));
    write(out / "hello-v1-session.bin",
          record(node1, find("hello-v1")) + record(node1, find("heartbeat")));
    // The enrollment endpoint: the token redeemed (then refused as used), a key that is not the
    // connection's, another message than enroll, and then the node endpoint in the same input.
    const auto enroll = loa::fuzz::kEnrollBit;
    write(out / "enroll-twice.bin",
          record(enroll, find("enroll")) + record(enroll, find("enroll")));
    {
        wire::Envelope e;
        e.set_message_id(9);
        e.mutable_enroll()->set_token(std::string(loa::fuzz::kTokenPlaceholder));
        e.mutable_enroll()->set_public_key(loa::fuzz::fixed_key_pair(2).public_key);
        write(out / "enroll-other-key.bin", record(enroll, protocol::encode(e)));
        e.mutable_enroll()->set_public_key(
            loa::fuzz::fixed_key_pair(loa::fuzz::kEnrollingKey).public_key);
        e.mutable_enroll()->set_token(std::string(32, 'f'));
        write(out / "enroll-unknown-token.bin", record(enroll, protocol::encode(e)));
    }
    write(out / "enroll-hello.bin", record(enroll, hello) + record(enroll, find("enroll")) +
                                        record(node1, hello) + record(node1, find("heartbeat")));
    write(out / "garbage.bin",
          record(node1, hello) + record(node1, std::string("\x0a\xff\xff", 3)));
}

/// docs/examples/*.toml, and every raw string literal R"(…)" of the plan file tests.
void plan_seeds(const fs::path& out, const fs::path& repo) {
    for (const auto& entry : fs::directory_iterator(repo / "docs" / "examples")) {
        if (entry.path().extension() == ".toml") {
            fs::copy_file(entry.path(), out / entry.path().filename(),
                          fs::copy_options::overwrite_existing);
        }
    }
    const std::string test = read(repo / "tests" / "controller" / "plan_file_test.cpp");
    std::size_t n = 0;
    for (std::size_t at = test.find("R\"("); at != std::string::npos; at = test.find("R\"(", at)) {
        const std::size_t begin = at + 3;
        const std::size_t end = test.find(")\"", begin);
        if (end == std::string::npos) {
            break;
        }
        write(out / ("plan_file_test-" + std::to_string(++n) + ".toml"),
              test.substr(begin, end - begin));
        at = end;
    }
}

}  // namespace

int main(int argc, char** argv) {
    if (argc != 3) {
        std::fprintf(stderr, "usage: make_seeds OUT_DIR REPO_ROOT\n");
        return 2;
    }
    const fs::path out = argv[1];
    const fs::path repo = argv[2];
    const auto m = messages(media::sha256_hex(loa::fuzz::media_blob()));
    for (const char* target : {"fuzz_envelope", "fuzz_controller_handlers", "fuzz_plan_file"}) {
        fs::create_directories(out / target);
    }
    envelope_seeds(out / "fuzz_envelope", m);
    controller_seeds(out / "fuzz_controller_handlers", m);
    plan_seeds(out / "fuzz_plan_file", repo);
    return 0;
}
