// Scenario 07: a 20 MB panel video travels to the nodes by content hash — to 50 nodes at once,
// through a killed node, a killed controller, and chunks corrupted on the wire and on disk — and
// every copy ends up whole and verified, with no verified chunk fetched twice.
#include <algorithm>
#include <atomic>
#include <fstream>
#include <regex>
#include <thread>

#include <zmq.hpp>

#include "loa/media/chunk_manifest.hpp"
#include "loa/media/content_hash.hpp"
#include "loa/media/content_store.hpp"
#include "loa/protocol/envelope.hpp"
#include "scenario.hpp"

using namespace loa::e2e;

namespace {

namespace media = loa::media;

constexpr std::uint32_t kChunkBytes = 64 * 1024;
constexpr const char* kPanelArea = "vn/lao-cai/sa-pa/ta-van";
/// Slow enough (40 Mbit/s) that a 20 MB transfer can be cut half-way, fast enough for CI.
const std::vector<std::string> kMetered = {"--max-kbps", "40000"};

struct BigItem {
    std::string hash;
    fs::path file;
    media::ChunkManifest manifest;
};

/// A ~20 MB MPEG-4 video made with ffmpeg, imported for panel boards (stored as it is).
BigItem big_video(Scenario& s) {
    auto file = s.root() / "bulletins" / "video-20mb.mp4";
    int status = loa::test::run_shell(fmt::format(
        "ffmpeg -nostdin -loglevel error -y -f lavfi -i testsrc2=size=1280x720:rate=25 -t 12 "
        "-c:v mpeg4 -b:v 14M -minrate 14M -maxrate 14M -bufsize 2M {}",
        shell_quote(file.string())));
    REQUIRE(status == 0);
    REQUIRE(fs::file_size(file) > 19'000'000);
    auto imported =
        s.loactl(fmt::format("media import --for panel {} --title {}", shell_quote(file.string()),
                             shell_quote("Phim tuyên truyền phòng cháy")));
    REQUIRE(imported["kind"] == "video");
    s.loactl("media approve " + imported["media_hash"].get<std::string>());
    auto manifest = media::ChunkManifest::of_file(file, kChunkBytes);
    REQUIRE(manifest.has_value());
    REQUIRE(manifest->media_hash == imported["media_hash"]);
    return {imported["media_hash"], file, std::move(*manifest)};
}

void add_panels(Scenario& s, const std::vector<std::string>& ids) {
    for (const auto& id : ids) {
        s.add_node(id, kPanelArea, "panel");
    }
}

/// Books the item an hour ahead: the nodes prefetch it now and play nothing during the test.
void book_ahead(Scenario& s, const BigItem& item) {
    auto booked = s.loactl(fmt::format(
        "campaign add phong-chay --name {} --owner {} --item {} --area {} --start now+1h "
        "--end now+2h",
        shell_quote("Phòng cháy chữa cháy"), shell_quote("UBND xã Tả Van"), item.hash, kPanelArea));
    REQUIRE(booked["unplaced"].empty());
}

fs::path cached(Scenario& s, const std::string& node, const BigItem& item) {
    return s.node_data(node) / "media" / item.hash;
}

fs::path partial(Scenario& s, const std::string& node, const BigItem& item) {
    return s.node_data(node) / "media" / (item.hash + ".part");
}

/// True once the node holds the whole item and it hashes to its name.
bool holds_verified(Scenario& s, const std::string& node, const BigItem& item) {
    std::error_code ec;
    if (!fs::is_regular_file(cached(s, node, item), ec)) {
        return false;
    }
    auto hash = media::sha256_file(cached(s, node, item));
    return hash && *hash == item.hash;
}

/// Waits until the node has written at least `fraction` of the item into its partial file.
bool partly_fetched(Scenario& s, const std::string& node, const BigItem& item, double fraction) {
    return loa::test::wait_until(
        [&] {
            std::error_code ec;
            auto size = fs::file_size(partial(s, node, item), ec);
            return !ec && size >= fraction * item.manifest.total_size;
        },
        60s);
}

/// Chunks of the node's partial file that match the manifest: what a restart may keep.
std::uint32_t verified_on_disk(Scenario& s, const std::string& node, const BigItem& item) {
    media::ContentStore store(s.node_data(node) / "media");
    auto intact = store.partial_chunks(item.manifest);
    return static_cast<std::uint32_t>(std::count(intact.begin(), intact.end(), true));
}

/// What the node's log says of its last transfer of the item: chunks it already held when it
/// started, and chunk requests / rejections when it finished. -1 where the line is missing.
struct TransferLog {
    long held = -1;
    long requests = -1;
    long rejected = -1;
    int completions = 0;
};

TransferLog transfer_log(Scenario& s, const std::string& node, const BigItem& item) {
    std::string log = loa::test::read_file(s.logs() / (node + ".log"));
    std::string h = item.hash.substr(0, 12);
    TransferLog out;
    std::regex started("fetching media " + h +
                       R"( \(\d+ bytes, \d+ chunks(, (\d+) already held)?\))");
    std::regex ready(
        "media " + h +
        R"( ready \(\d+ bytes, hash verified; (\d+) chunk requests, (\d+) rejected\))");
    for (auto it = std::sregex_iterator(log.begin(), log.end(), started);
         it != std::sregex_iterator(); ++it) {
        out.held = (*it)[2].matched ? std::stol((*it)[2]) : 0;
    }
    for (auto it = std::sregex_iterator(log.begin(), log.end(), ready);
         it != std::sregex_iterator(); ++it) {
        out.requests = std::stol((*it)[1]);
        out.rejected = std::stol((*it)[2]);
        ++out.completions;
    }
    return out;
}

void flip_byte(const fs::path& file, std::uint64_t offset) {
    std::fstream f(file, std::ios::in | std::ios::out | std::ios::binary);
    REQUIRE(f.good());
    f.seekg(static_cast<std::streamoff>(offset));
    char c = 0;
    f.get(c);
    f.seekp(static_cast<std::streamoff>(offset));
    f.put(static_cast<char>(c ^ 0x5a));
}

/// A man in the middle between one node and the controller that flips a byte in the data of
/// the `nth` chunk it forwards. Real sockets: ROUTER towards the node, DEALER to the controller.
/// CURVE's MAC would catch a byte flipped on the wire, so this relay holds both keys (the
/// controller's towards the node, the node's towards the controller): what it corrupts is what
/// a buggy or compromised relay would, and only the node's chunk digests can catch it.
class CorruptingProxy {
  public:
    CorruptingProxy(const Scenario& s, const std::string& node, int nth)
        : endpoint_(fmt::format("tcp://127.0.0.1:{}", loa::test::free_tcp_port())),
          nth_(nth),
          controller_keys_(*loa::protocol::read_key_file(s.controller_data() / "controller.key")),
          front_(context_, zmq::socket_type::router),
          back_(context_, zmq::socket_type::dealer) {
        front_.set(zmq::sockopt::curve_server, 1);
        front_.set(zmq::sockopt::curve_secretkey, controller_keys_.secret_key);
        s.secure_as(back_, node);
        thread_ = std::thread([this, controller = s.endpoint()] { run(controller); });
    }
    ~CorruptingProxy() {
        stop_ = true;
        thread_.join();
    }
    const std::string& endpoint() const { return endpoint_; }
    int corrupted() const { return corrupted_; }

  private:
    void run(const std::string& controller) {
        zmq::socket_t& front = front_;
        zmq::socket_t& back = back_;
        front.set(zmq::sockopt::linger, 0);
        back.set(zmq::sockopt::linger, 0);
        front.bind(endpoint_);
        back.connect(controller);
        std::string node_identity;
        int chunks = 0;
        while (!stop_) {
            zmq::pollitem_t items[] = {{front.handle(), 0, ZMQ_POLLIN, 0},
                                       {back.handle(), 0, ZMQ_POLLIN, 0}};
            zmq::poll(items, 2, std::chrono::milliseconds(20));
            if (items[0].revents & ZMQ_POLLIN) {
                zmq::message_t identity, frame;
                (void)front.recv(identity);
                (void)front.recv(frame);
                node_identity = identity.to_string();
                back.send(frame, zmq::send_flags::none);
            }
            if (items[1].revents & ZMQ_POLLIN) {
                zmq::message_t frame;
                (void)back.recv(frame);
                std::string bytes = frame.to_string();
                auto decoded = loa::protocol::decode(bytes);
                if (decoded && decoded->has_chunk() && ++chunks == nth_) {
                    std::string data = decoded->chunk().data();
                    data[data.size() / 2] ^= 0x01;
                    decoded->mutable_chunk()->set_data(data);
                    bytes = decoded->SerializeAsString();
                    ++corrupted_;
                }
                front.send(zmq::buffer(node_identity), zmq::send_flags::sndmore);
                front.send(zmq::buffer(bytes), zmq::send_flags::none);
            }
        }
    }

    std::string endpoint_;
    int nth_;
    loa::protocol::CurveKeyPair controller_keys_;
    zmq::context_t context_{1};
    zmq::socket_t front_;
    zmq::socket_t back_;
    std::atomic<bool> stop_{false};
    std::atomic<int> corrupted_{0};
    std::thread thread_;  // last: starts after everything above exists
};

/// One panel node and the 20 MB item booked on it, the controller running; the node is started
/// by the test, with the flags it needs.
struct OneNode {
    Scenario s;
    std::string node = "bang-01";
    BigItem item;

    OneNode() {
        add_panels(s, {node});
        item = big_video(s);
        book_ahead(s, item);
        s.start_controller();
    }
};

}  // namespace

TEST_CASE("scenario 07: a 20 MB item reaches 50 nodes, every copy verified and reported ready",
          "[e2e][transfer]") {
    Scenario s;
    std::vector<std::string> ids;
    for (int i = 1; i <= 50; ++i) {
        ids.push_back(fmt::format("bang-{:02}", i));
    }
    add_panels(s, ids);
    auto item = big_video(s);
    book_ahead(s, item);
    s.start_controller();
    for (const auto& id : ids) {
        s.start_node(id);
    }
    bool all = loa::test::wait_until(
        [&] {
            return std::all_of(ids.begin(), ids.end(), [&](const std::string& id) {
                return fs::exists(cached(s, id, item));
            });
        },
        180s);
    E2E_REQUIRE(s, all);
    for (const auto& id : ids) {
        INFO("node " << id);
        CHECK(holds_verified(s, id, item));
        CHECK_FALSE(fs::exists(partial(s, id, item)));
    }
    // Each node told the controller, which now knows nothing is missing anywhere.
    bool reported = loa::test::wait_until(
        [&] {
            return s.controller_scalar(
                       "SELECT count(*) FROM node_media WHERE state = 'ready' "
                       "AND media_hash = '" +
                       item.hash + "'") == static_cast<std::int64_t>(ids.size());
        },
        30s);
    E2E_CHECK(s, reported);
}

TEST_CASE("scenario 07: a node killed mid-transfer resumes after its verified chunks",
          "[e2e][transfer]") {
    OneNode world;
    auto& [s, node, item] = world;
    s.start_node(node, kMetered);
    E2E_REQUIRE(s, partly_fetched(s, node, item, 0.3));
    s.kill_node(node);
    E2E_REQUIRE(s, !fs::exists(cached(s, node, item)));  // a partial file never counts

    const std::uint32_t chunks = item.manifest.chunk_count();
    const std::uint32_t kept = verified_on_disk(s, node, item);
    INFO("chunks " << chunks << ", verified on disk after the kill " << kept);
    REQUIRE(kept > 0);
    REQUIRE(kept < chunks);

    s.start_node(node, kMetered);
    bool done = loa::test::wait_until([&] { return holds_verified(s, node, item); }, 60s);
    E2E_REQUIRE(s, done);
    auto log = transfer_log(s, node, item);
    // Every chunk verified before the kill was kept; only the others were asked for again.
    E2E_CHECK(s, log.held == kept);
    E2E_CHECK(s, log.requests == chunks - kept);
    E2E_CHECK(s, log.rejected == 0);
}

TEST_CASE("scenario 07: a transfer survives the controller being killed and restarted",
          "[e2e][transfer]") {
    OneNode world;
    auto& [s, node, item] = world;
    s.start_node(node, kMetered);
    E2E_REQUIRE(s, partly_fetched(s, node, item, 0.3));
    s.kill_controller();
    std::this_thread::sleep_for(1500ms);
    E2E_REQUIRE(s, !fs::exists(cached(s, node, item)));
    s.start_controller();
    bool done = loa::test::wait_until([&] { return holds_verified(s, node, item); }, 90s);
    E2E_REQUIRE(s, done);
    auto log = transfer_log(s, node, item);
    // The same fetch went on: requests lost with the controller (at most one window) were asked
    // again; nothing already received was.
    E2E_CHECK(s, log.completions == 1);
    E2E_CHECK(s, log.requests >= item.manifest.chunk_count());
    E2E_CHECK(s, log.requests <= item.manifest.chunk_count() + 16);
}

TEST_CASE("scenario 07: a chunk corrupted on the wire is detected and fetched again",
          "[e2e][transfer]") {
    OneNode world;
    auto& [s, node, item] = world;
    CorruptingProxy proxy(s, node, 5);
    s.start_node(node, {}, proxy.endpoint());
    bool done = loa::test::wait_until([&] { return holds_verified(s, node, item); }, 60s);
    E2E_REQUIRE(s, done);
    E2E_CHECK(s, proxy.corrupted() == 1);
    auto log = transfer_log(s, node, item);
    E2E_CHECK(s, log.rejected == 1);
    E2E_CHECK(s, log.requests == item.manifest.chunk_count() + 1);
}

TEST_CASE("scenario 07: chunks corrupted on disk are fetched again, in a partial or a ready file",
          "[e2e][transfer]") {
    OneNode world;
    auto& [s, node, item] = world;
    std::vector<std::string> flags = kMetered;
    flags.insert(flags.end(), {"--reverify-every", "1"});
    s.start_node(node, flags);

    // A partial download damaged while the node was down: the damaged chunk is not kept.
    E2E_REQUIRE(s, partly_fetched(s, node, item, 0.3));
    s.kill_node(node);
    const std::uint32_t kept = verified_on_disk(s, node, item);
    REQUIRE(kept > 1);
    flip_byte(partial(s, node, item), 0);  // chunk 0 is always among the first written
    REQUIRE(verified_on_disk(s, node, item) == kept - 1);
    s.start_node(node, flags);
    bool done = loa::test::wait_until([&] { return holds_verified(s, node, item); }, 60s);
    E2E_REQUIRE(s, done);
    auto log = transfer_log(s, node, item);
    E2E_CHECK(s, log.held == kept - 1);
    E2E_CHECK(s, log.requests == item.manifest.chunk_count() - (kept - 1));

    // A ready file damaged later: the periodic check finds it, deletes it and fetches it again.
    flip_byte(cached(s, node, item), item.manifest.total_size / 2);
    bool again = loa::test::wait_until(
        [&] {
            return transfer_log(s, node, item).completions == 2 && holds_verified(s, node, item);
        },
        60s);
    E2E_REQUIRE(s, again);
    E2E_CHECK(s, loa::test::read_file(s.logs() / (node + ".log")).find("failed its check") !=
                     std::string::npos);
}
