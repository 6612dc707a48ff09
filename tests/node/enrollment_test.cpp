// Enrollment retries against a scripted enrollment endpoint (a CURVE ROUTER on loopback): silence
// and BUSY are asked again with back-off, a definitive refusal stops at once, the tries are
// bounded, and the key pair is stored before it is first sent, so a second run asks with it.
#include <catch2/catch.hpp>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <fmt/core.h>
#include <zmq.hpp>

#include "loa/node/enrollment.hpp"
#include "loa/protocol/curve_keys.hpp"
#include "loa/protocol/enrollment_token.hpp"
#include "loa/protocol/envelope.hpp"
#include "test_support.hpp"

using loa::test::TempDir;
namespace node = loa::node;
namespace protocol = loa::protocol;
namespace wire = loa::wire;

namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

constexpr const char* kSecret = "0123456789abcdef0123456789abcdef";

enum class Answer { silence, busy, refuse, enrolled };

/// The controller's enrollment endpoint as the test scripts it: the answer to the n-th ENROLL
/// (from 1) is chosen by `script`.
class FakeEnrollment {
  public:
    explicit FakeEnrollment(std::function<Answer(int)> script)
        : script_(std::move(script)),
          endpoint_(fmt::format("tcp://127.0.0.1:{}", loa::test::free_tcp_port())),
          keys_(protocol::generate_curve_key_pair()),
          router_(context_, zmq::socket_type::router) {
        router_.set(zmq::sockopt::linger, 0);
        router_.set(zmq::sockopt::curve_server, 1);
        router_.set(zmq::sockopt::curve_secretkey, keys_.secret_key);
        router_.bind(endpoint_);
        thread_ = std::thread([this] { loop(); });
    }
    ~FakeEnrollment() {
        stop_ = true;
        thread_.join();
    }
    FakeEnrollment(const FakeEnrollment&) = delete;
    FakeEnrollment& operator=(const FakeEnrollment&) = delete;

    const std::string& endpoint() const { return endpoint_; }
    std::string token() const {
        return protocol::format_enrollment_token({kSecret, keys_.public_key});
    }
    /// Every ENROLL received, in order.
    std::vector<wire::Enroll> enrolls() {
        std::lock_guard lock(mutex_);
        return enrolls_;
    }

  private:
    void loop() {
        while (!stop_) {
            zmq::pollitem_t items[] = {{router_.handle(), 0, ZMQ_POLLIN, 0}};
            zmq::poll(items, 1, std::chrono::milliseconds(10));
            zmq::message_t identity;
            zmq::message_t frame;
            if (!router_.recv(identity, zmq::recv_flags::dontwait) || !router_.recv(frame)) {
                continue;
            }
            auto in = protocol::decode(frame.to_string_view());
            if (!in || !in->has_enroll()) {
                continue;
            }
            int n = 0;
            {
                std::lock_guard lock(mutex_);
                enrolls_.push_back(in->enroll());
                n = static_cast<int>(enrolls_.size());
            }
            wire::Envelope out;
            switch (script_(n)) {
                case Answer::silence:
                    continue;
                case Answer::busy:
                    out.mutable_error()->set_code(wire::BUSY);
                    out.mutable_error()->set_message("too many enrollments at once");
                    break;
                case Answer::refuse:
                    out.mutable_error()->set_code(wire::ENROLLMENT_REFUSED);
                    out.mutable_error()->set_message("this token was already used");
                    break;
                case Answer::enrolled: {
                    auto* e = out.mutable_enrolled();
                    e->set_node_id("ta-van-01");
                    e->set_kind("speaker");
                    e->set_area_path("vn/lao-cai/sa-pa/ta-van");
                    e->set_controller_public_key(keys_.public_key);
                    e->set_node_port(5599);
                    break;
                }
            }
            out.set_in_reply_to(in->message_id());
            router_.send(identity, zmq::send_flags::sndmore);
            router_.send(zmq::buffer(protocol::encode(out)), zmq::send_flags::none);
        }
    }

    std::function<Answer(int)> script_;
    std::string endpoint_;
    protocol::CurveKeyPair keys_;
    zmq::context_t context_{1};
    zmq::socket_t router_;
    std::atomic<bool> stop_{false};
    std::mutex mutex_;
    std::vector<wire::Enroll> enrolls_;
    std::thread thread_;  // last: starts after everything above exists
};

node::EnrollRequest request_for(const FakeEnrollment& controller, const fs::path& data) {
    node::EnrollRequest request;
    request.endpoint = controller.endpoint();
    request.token = controller.token();
    request.data_dir = data;
    request.agent_version = "test";
    request.first_retry = 100ms;
    request.max_retry = 400ms;
    request.timeout = 30s;
    return request;
}

}  // namespace

TEST_CASE("enrollment asks again while the controller is silent, then enrolls", "[enroll]") {
    TempDir dir;
    FakeEnrollment controller([](int n) { return n <= 2 ? Answer::silence : Answer::enrolled; });
    auto enrolled = node::enroll_device(request_for(controller, dir / "node"));
    REQUIRE(enrolled.has_value());
    CHECK(enrolled->node_id == "ta-van-01");
    CHECK(enrolled->controller ==
          controller.endpoint().substr(0, controller.endpoint().rfind(':')) + ":5599");

    const auto enrolls = controller.enrolls();
    REQUIRE(enrolls.size() == 3);
    for (const auto& e : enrolls) {
        CHECK(e.token() == kSecret);  // the secret only, not the printed token
        CHECK(e.public_key() == enrolls.front().public_key());
    }
    auto key = protocol::read_key_file(node::node_key_file(dir / "node"));
    REQUIRE(key.has_value());
    CHECK(key->public_key == enrolls.front().public_key());
    auto config = node::read_node_config(node::node_config_file(dir / "node"));
    REQUIRE(config.has_value());
    CHECK(config->node_id == "ta-van-01");
    CHECK_FALSE(fs::exists(node::pending_key_file(dir / "node")));
}

TEST_CASE("a busy controller is asked again after a back-off, and its later answer counts",
          "[enroll]") {
    TempDir dir;
    FakeEnrollment controller([](int n) { return n <= 2 ? Answer::busy : Answer::enrolled; });
    auto enrolled = node::enroll_device(request_for(controller, dir / "node"));
    REQUIRE(enrolled.has_value());
    CHECK(controller.enrolls().size() == 3);
    CHECK(fs::exists(node::node_key_file(dir / "node")));
}

TEST_CASE("a definitive refusal stops the enrollment at once and writes nothing", "[enroll]") {
    TempDir dir;
    FakeEnrollment controller([](int) { return Answer::refuse; });
    auto enrolled = node::enroll_device(request_for(controller, dir / "node"));
    REQUIRE_FALSE(enrolled.has_value());
    CHECK_THAT(enrolled.error(), Catch::Matchers::Contains("already used"));
    // Asked once: no try is left to arrive later.
    std::this_thread::sleep_for(600ms);
    CHECK(controller.enrolls().size() == 1);
    CHECK_FALSE(fs::exists(node::node_key_file(dir / "node")));
    CHECK_FALSE(fs::exists(node::node_config_file(dir / "node")));
    CHECK_FALSE(fs::exists(node::pending_key_file(dir / "node")));
}

TEST_CASE(
    "a controller silent for every try ends the enrollment after the tries allowed, and "
    "the next run asks with the same key",
    "[enroll]") {
    TempDir dir;
    const fs::path data = dir / "node";
    std::string first_key;
    {
        FakeEnrollment silent([](int) { return Answer::silence; });
        auto request = request_for(silent, data);
        request.tries = 3;
        auto enrolled = node::enroll_device(request);
        REQUIRE_FALSE(enrolled.has_value());
        CHECK_THAT(enrolled.error(), Catch::Matchers::Contains("no answer") &&
                                         Catch::Matchers::Contains("after 3 tries") &&
                                         Catch::Matchers::Contains(silent.endpoint()));
        const auto enrolls = silent.enrolls();
        REQUIRE(enrolls.size() == 3);
        first_key = enrolls.front().public_key();
        CHECK_FALSE(fs::exists(node::node_key_file(data)));
        CHECK_FALSE(fs::exists(node::node_config_file(data)));
    }
    // The controller may have registered that key and lost its answer: the device asks again
    // as the same device.
    FakeEnrollment answering([](int) { return Answer::enrolled; });
    auto enrolled = node::enroll_device(request_for(answering, data));
    REQUIRE(enrolled.has_value());
    REQUIRE(answering.enrolls().size() == 1);
    CHECK(answering.enrolls().front().public_key() == first_key);
    CHECK(protocol::read_key_file(node::node_key_file(data))->public_key == first_key);
    CHECK_FALSE(fs::exists(node::pending_key_file(data)));
}

TEST_CASE("enrollment waits double from the first up to their cap, within 25 % either way",
          "[enroll]") {
    using node::detail::enrollment_retry_delay;
    constexpr std::chrono::milliseconds first = 5s;
    constexpr std::chrono::milliseconds cap = 60s;
    CHECK(enrollment_retry_delay(1, first, cap, 1.0) == 5s);
    CHECK(enrollment_retry_delay(2, first, cap, 1.0) == 10s);
    CHECK(enrollment_retry_delay(3, first, cap, 1.0) == 20s);
    CHECK(enrollment_retry_delay(4, first, cap, 1.0) == 40s);
    CHECK(enrollment_retry_delay(5, first, cap, 1.0) == 60s);
    CHECK(enrollment_retry_delay(1000, first, cap, 1.0) == 60s);
    CHECK(enrollment_retry_delay(1, first, cap, 0.75) == 3750ms);
    CHECK(enrollment_retry_delay(5, first, cap, 1.25) == 75s);
    // A draw outside the band is held to it.
    CHECK(enrollment_retry_delay(1, first, cap, 0.0) == 3750ms);
    CHECK(enrollment_retry_delay(1, first, cap, 9.0) == 6250ms);
}

TEST_CASE("loa-node with an empty or cut node.key refuses to start, naming it, and leaves it be",
          "[enroll]") {
    TempDir dir;
    const fs::path data = dir / "node";
    const auto keys = protocol::generate_curve_key_pair();
    REQUIRE(node::write_node_config(node::node_config_file(data),
                                    {"ta-van-01", "speaker", "vn/lao-cai/sa-pa/ta-van",
                                     "tcp://127.0.0.1:5599", keys.public_key}));
    const std::string content = GENERATE(std::string(""), std::string("public "));
    INFO("node.key holds '" << content << "'");
    loa::test::write_file(node::node_key_file(data), content);

    int status = -1;
    const std::string out = loa::test::capture_shell(
        fmt::format("'{}' --data '{}' --sink fake --log-file '' 2>&1", LOA_NODE_BIN, data.string()),
        &status);
    INFO(out);
    CHECK(status == 2);
    CHECK_THAT(out, Catch::Matchers::Contains(node::node_key_file(data).string()) &&
                        Catch::Matchers::Contains("cannot be used") &&
                        Catch::Matchers::Contains("new token"));
    CHECK(loa::test::read_file(node::node_key_file(data)) == content);
    CHECK_FALSE(fs::exists(data / "node.db"));  // it never started
}
