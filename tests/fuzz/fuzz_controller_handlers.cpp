// Fuzzes every message handler of the controller: sequences of frames into NodeGateway.
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <numbers>
#include <string>
#include <string_view>
#include <vector>

#include <SQLiteCpp/Database.h>
#include <google/protobuf/stubs/logging.h>
#include <spdlog/spdlog.h>
#include <zmq.hpp>

#include "controller_inputs.hpp"
#include "loa/controller/booking/campaign_book.hpp"
#include "loa/controller/content/approval.hpp"
#include "loa/controller/content/media_library.hpp"
#include "loa/controller/fleet/node_commands.hpp"
#include "loa/controller/fleet/node_enrollment.hpp"
#include "loa/controller/fleet/node_registry.hpp"
#include "loa/controller/gateway/node_gateway.hpp"
#include "loa/controller/store/database.hpp"
#include "loa/controller/store/store.hpp"
#include "loa/media/content_store.hpp"
#include "loa/protocol/enrollment_token.hpp"
#include "loa/protocol/envelope.hpp"
#include "loa/protocol/limits.hpp"

namespace {

namespace fs = std::filesystem;
using namespace loa;

// The database grows with what the handlers store (confirmations, command results), so the world
// is rebuilt from its template this often: memory stays bounded over millions of inputs.
constexpr std::uint64_t kInputsPerWorld = 20'000;

std::int64_t now_us() {
    return std::chrono::duration_cast<std::chrono::microseconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
}

[[noreturn]] void die(const std::string& why) {
    std::fprintf(stderr, "fuzz_controller_handlers: %s\n", why.c_str());
    std::abort();
}

/// A 16-bit mono WAV of a 440 Hz tone, made here so the setup needs no external program.
std::string tone_wav(int rate, double seconds) {
    const auto samples = static_cast<std::uint32_t>(rate * seconds);
    std::string out;
    auto u32 = [&](std::uint32_t v) {
        for (int i = 0; i < 4; ++i) {
            out.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
        }
    };
    auto u16 = [&](std::uint16_t v) {
        out.push_back(static_cast<char>(v & 0xff));
        out.push_back(static_cast<char>(v >> 8));
    };
    out += "RIFF";
    u32(36 + samples * 2);
    out += "WAVEfmt ";
    u32(16);
    u16(1);  // PCM
    u16(1);  // mono
    u32(static_cast<std::uint32_t>(rate));
    u32(static_cast<std::uint32_t>(rate) * 2);
    u16(2);
    u16(16);
    out += "data";
    u32(samples * 2);
    for (std::uint32_t i = 0; i < samples; ++i) {
        double v = 0.3 * std::sin(2 * std::numbers::pi * 440.0 * i / rate);
        u16(static_cast<std::uint16_t>(static_cast<std::int16_t>(v * 32767)));
    }
    return out;
}

void write_bytes(const fs::path& file, std::string_view bytes) {
    std::FILE* f = std::fopen(file.c_str(), "wb");
    if (f == nullptr || std::fwrite(bytes.data(), 1, bytes.size(), f) != bytes.size()) {
        die("cannot write " + file.string());
    }
    std::fclose(f);
}

/// A controller over a real database and media store on /dev/shm (fsync is free there), with
/// registered nodes, imported media, a booked campaign and pending commands, served to DEALER
/// sockets connected over ipc.
class World {
  public:
    World() : dir_(fs::path("/dev/shm") / ("loa-fuzz-controller-" + std::to_string(getpid()))) {
        fs::remove_all(dir_);
        fs::create_directories(dir_);
        store_ = std::make_unique<media::ContentStore>(dir_ / "media");
        make_template();
        rebuild();
    }
    ~World() {
        enroller_.close();
        dealers_.clear();
        server_.reset();
        db_.reset();
        std::error_code ec;
        fs::remove_all(dir_, ec);
    }
    World(const World&) = delete;
    World& operator=(const World&) = delete;

    void run(const std::uint8_t* data, std::size_t size) {
        if (++inputs_ % kInputsPerWorld == 0) {
            rebuild();
        }
        std::size_t records = 0;
        while (size > 0 && records++ < loa::fuzz::kMaxRecords) {
            const std::uint8_t select = data[0];
            std::size_t length = size >= 3 ? (data[1] | (std::size_t{data[2]} << 8)) : 0;
            const std::size_t header = std::min<std::size_t>(size, 3);
            data += header;
            size -= header;
            length = std::min(length, size);
            const std::string_view frame(reinterpret_cast<const char*>(data), length);
            data += length;
            size -= length;
            if (select & loa::fuzz::kEnrollBit) {
                enroll(frame);
                continue;
            }
            const std::string routing_id(loa::fuzz::kRoutingIds[select % 4]);
            const std::string node_id(loa::fuzz::kNodeIds[(select / 4) % 4]);
            server_->handle_frame(routing_id, node_id, frame, now_us());
        }
        // Periodic work too (timelines pushed again, silent sessions dropped), as the loop does.
        server_->poll_once(0);
        for (auto& dealer : dealers_) {
            drain(dealer);
        }
    }

  private:
    void make_template() {
        const std::int64_t now = now_us();
        auto opened = controller::open_database(dir_ / "template.db");
        if (!opened) {
            die("open_database: " + opened.error().message);
        }
        SQLite::Database& db = **opened;
        for (std::string_view node :
             {loa::fuzz::kNodeIds[0], loa::fuzz::kNodeIds[1], loa::fuzz::kEnrollingNode}) {
            auto added = loa::controller::write_directly(db, [&](loa::controller::WriteTx& tx) {
                return controller::add_node(tx,
                                            {.node_id = std::string(node),
                                             .kind = "speaker",
                                             .area_path = std::string(loa::fuzz::kArea)},
                                            now);
            });
            if (!added) {
                die("add_node: " + added.error().message);
            }
        }
        // The DEALERs' keys (fixed_key_pair 2..4): fz-node-1, fz-node-2, fz-node-1 again.
        for (std::uint8_t key = 2; key <= 4; ++key) {
            const std::string node(loa::fuzz::kNodeIds[key == 3 ? 1 : 0]);
            auto enrolled = loa::controller::write_directly(db, [&](loa::controller::WriteTx& tx) {
                return controller::enroll_key(tx, node, loa::fuzz::fixed_key_pair(key).public_key,
                                              now);
            });
            if (!enrolled) {
                die("enroll_key: " + enrolled.error().message);
            }
        }
        auto token = loa::controller::write_directly(db, [&](loa::controller::WriteTx& tx) {
            return controller::issue_enrollment_token(tx, loa::fuzz::kEnrollingNode,
                                                      keys_.public_key, "fuzz", now,
                                                      controller::kDefaultTokenLifetimeUs);
        });
        if (!token) {
            die("issue_enrollment_token: " + token.error().message);
        }
        auto parsed = protocol::parse_enrollment_token(token->token);
        if (!parsed) {
            die("parse_enrollment_token: " + parsed.error());
        }
        token_secret_ = parsed->secret_hex;
        // Served by MANIFEST-REQUEST and CHUNK-REQUEST straight from the store.
        write_bytes(dir_ / "blob", loa::fuzz::media_blob());
        if (auto put = store_->put_file(dir_ / "blob"); !put) {
            die("put_file: " + put.error().message);
        }
        // Imported audio, so that a campaign books plays and nodes get real timelines.
        write_bytes(dir_ / "tone.wav", tone_wav(22050, 1.0));
        auto imported = loa::controller::write_directly(db, [&](loa::controller::WriteTx& tx) {
            return controller::import_media(tx, *store_, dir_ / "tone.wav", "Bản tin", now);
        });
        if (!imported) {
            die("import_media: " + imported.error().message);
        }
        // Only approved media are booked.
        auto approved = loa::controller::write_directly(db, [&](loa::controller::WriteTx& tx) {
            return controller::decide_media(tx, imported->media.media_hash,
                                            controller::Decision::approved, "fuzz", "", now);
        });
        if (!approved) {
            die("decide_media: " + approved.error().message);
        }
        auto booked = loa::controller::write_directly(db, [&](loa::controller::WriteTx& tx) {
            return controller::add_campaign(tx,
                                            {"fz-campaign",
                                             "Phòng chống thiên tai",
                                             "UBND xã Tả Van",
                                             now + 60'000'000,
                                             now + 3600'000'000LL,
                                             {imported->media.media_hash},
                                             {std::string(loa::fuzz::kArea)}},
                                            now);
        });
        if (!booked) {
            // Not fatal: handlers are still reached, only timelines are empty. Said once.
            std::fprintf(stderr, "fuzz_controller_handlers: no campaign booked: %s\n",
                         booked.error().message.c_str());
        }
        // Pending commands (ids kCommandIds) that COMMAND-RESULT seeds answer.
        std::vector<wire::Command> actions(3);
        actions[0].mutable_set_volume()->set_percent(70);
        actions[1].mutable_set_amplifier()->set_on(true);
        actions[2].mutable_send_log()->set_max_bytes(4096);
        for (auto& action : actions) {
            auto queued = loa::controller::write_directly(db, [&](loa::controller::WriteTx& tx) {
                return controller::queue_command(tx, std::string(loa::fuzz::kNodeIds[0]),
                                                 std::move(action), now);
            });
            if (!queued) {
                die("queue_command: " + queued.error().message);
            }
        }
        // Closing the last connection checkpoints the WAL into the file, so copying it is enough.
    }

    /// A fresh server over a fresh copy of the template database, with its DEALERs connected.
    void rebuild() {
        enroller_.close();
        dealers_.clear();
        server_.reset();
        db_.reset();
        ++generation_;
        const fs::path live = dir_ / "live.db";
        for (const char* suffix : {"", "-wal", "-shm"}) {
            fs::remove(live.string() + suffix);
        }
        fs::copy_file(dir_ / "template.db", live);
        auto opened = controller::Store::open(live);
        if (!opened) {
            die("Store::open: " + opened.error().message);
        }
        db_ = std::move(*opened);
        controller::GatewayOptions options;
        options.endpoint = "ipc://" + (dir_ / ("router-" + std::to_string(generation_))).string();
        options.enroll_endpoint =
            "ipc://" + (dir_ / ("enroll-" + std::to_string(generation_))).string();
        options.curve_keys = keys_;
        server_ = std::make_unique<controller::NodeGateway>(*db_, *store_, options);
        if (auto bound = server_->bind(); !bound) {
            die("bind: " + bound.error().message);
        }
        for (std::size_t i = 0; i < loa::fuzz::kConnectedRoutingIds; ++i) {
            dealers_.push_back(connect(options.endpoint, static_cast<std::uint8_t>(2 + i),
                                       loa::fuzz::kRoutingIds[i]));
        }
        enroller_ = connect(options.enroll_endpoint, loa::fuzz::kEnrollingKey, "fuzz-enroll");
        // The ROUTER knows a routing id only once the CURVE handshake (answered by the server's
        // ZAP handler, in poll_once) is done: each DEALER sends a frame (refused: it is empty)
        // and is ready when the refusal comes back.
        std::vector<zmq::socket_t*> waiting;
        for (auto& dealer : dealers_) {
            waiting.push_back(&dealer);
        }
        waiting.push_back(&enroller_);
        for (auto* dealer : waiting) {
            dealer->send(zmq::message_t(), zmq::send_flags::none);
        }
        for (int round = 0; round < 1000 && !waiting.empty(); ++round) {
            server_->poll_once(5);
            std::erase_if(waiting, [](zmq::socket_t* dealer) {
                zmq::message_t reply;
                return dealer->recv(reply, zmq::recv_flags::dontwait).has_value();
            });
        }
        if (!waiting.empty()) {
            die("the DEALER sockets never connected");
        }
    }

    zmq::socket_t connect(const std::string& endpoint, std::uint8_t key,
                          std::string_view routing_id) {
        const auto pair = loa::fuzz::fixed_key_pair(key);
        zmq::socket_t dealer(context_, zmq::socket_type::dealer);
        dealer.set(zmq::sockopt::linger, 0);
        dealer.set(zmq::sockopt::rcvhwm, 64);  // chunks of up to 256 KiB wait here
        dealer.set(zmq::sockopt::routing_id, routing_id);
        dealer.set(zmq::sockopt::curve_serverkey, keys_.public_key);
        dealer.set(zmq::sockopt::curve_publickey, pair.public_key);
        dealer.set(zmq::sockopt::curve_secretkey, pair.secret_key);
        dealer.connect(endpoint);
        return dealer;
    }

    /// One frame to the enrollment endpoint, through the socket; waits for its answer (every
    /// frame there is answered) so the next record sees its effect.
    void enroll(std::string_view frame) {
        std::string bytes(frame);
        if (auto decoded = protocol::decode(frame);
            decoded && decoded->has_enroll() &&
            decoded->enroll().token() == loa::fuzz::kTokenPlaceholder) {
            decoded->mutable_enroll()->set_token(token_secret_);
            bytes = protocol::encode(std::move(*decoded));
        }
        enroller_.send(zmq::buffer(bytes), zmq::send_flags::none);
        for (int round = 0; round < 2000; ++round) {  // up to 2 s on a loaded machine
            server_->poll_once(1);
            zmq::message_t reply;
            if (enroller_.recv(reply, zmq::recv_flags::dontwait)) {
                check_reply(reply);
                return;
            }
        }
        die("no answer from the enrollment endpoint");
    }

    /// Takes what the server sent one connection.
    void drain(zmq::socket_t& dealer) {
        zmq::message_t reply;
        while (dealer.recv(reply, zmq::recv_flags::dontwait)) {
            check_reply(reply);
        }
    }

    /// Whatever the controller sends must be a frame a node decodes (a node reads its
    /// controller's frames with the larger limit).
    static void check_reply(const zmq::message_t& reply) {
        auto decoded = protocol::decode(reply.to_string_view(), protocol::kMaxControllerFrameBytes);
        if (!decoded) {
            // The frame's start, to tell which message it was.
            std::string hex;
            const auto bytes = reply.to_string_view();
            for (std::size_t i = 0; i < std::min<std::size_t>(bytes.size(), 96); ++i) {
                static constexpr char kDigits[] = "0123456789abcdef";
                hex += kDigits[static_cast<std::uint8_t>(bytes[i]) >> 4];
                hex += kDigits[static_cast<std::uint8_t>(bytes[i]) & 15];
            }
            die("the controller sent a frame a node refuses: " + decoded.error().message + " (" +
                std::to_string(bytes.size()) + " bytes: " + hex + ")");
        }
    }

    fs::path dir_;
    protocol::CurveKeyPair keys_ = loa::fuzz::fixed_key_pair(loa::fuzz::kControllerKey);
    std::string token_secret_;
    std::unique_ptr<media::ContentStore> store_;
    std::unique_ptr<controller::Store> db_;  ///< the gateway's store: its writer and readers
    std::unique_ptr<controller::NodeGateway> server_;
    zmq::context_t context_{1};
    std::vector<zmq::socket_t> dealers_;
    zmq::socket_t enroller_;
    std::uint64_t inputs_ = 0;
    int generation_ = 0;
};

World* world = nullptr;

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
    // Silent: a line per input would slow fuzzing down. LOA_FUZZ_VERBOSE=1 shows the server's
    // log when reproducing one input.
    if (std::getenv("LOA_FUZZ_VERBOSE") == nullptr) {
        spdlog::set_level(spdlog::level::off);
        // protobuf logs every string field that is not UTF-8.
        google::protobuf::SetLogHandler(nullptr);
    } else {
        spdlog::set_level(spdlog::level::debug);
    }
    world = new World();
    // libFuzzer ends with exit(): remove the world's files then (a crash leaves them to see).
    std::atexit([] { delete world; });
    return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    world->run(data, size);
    return 0;
}
