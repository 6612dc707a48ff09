// Fuzzes the envelope decoder (protocol::decode) and checks that what it accepts round-trips.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include <google/protobuf/stubs/logging.h>

#include "loa/protocol/envelope.hpp"
#include "loa/protocol/versions.hpp"

namespace {

[[noreturn]] void broken(const char* what) {
    std::fprintf(stderr, "fuzz_envelope: %s\n", what);
    std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
    // protobuf logs every string field that is not UTF-8: one line per such input otherwise.
    google::protobuf::SetLogHandler(nullptr);
    return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    using namespace loa;
    auto decoded = protocol::decode(std::string_view(reinterpret_cast<const char*>(data), size));
    if (!decoded) {
        if (decoded.error().message.empty()) {
            broken("a refusal without a reason");
        }
        return 0;
    }
    (void)protocol::message_type(*decoded);
    // What was accepted encodes to a frame that is accepted again, as the same message.
    const std::string first = protocol::encode(*decoded);
    if (first.size() > protocol::kMaxFrameBytes) {
        return 0;  // re-encoding may lengthen some varints; not a frame anyone sends
    }
    auto again = protocol::decode(first);
    if (!again) {
        broken("an accepted envelope, encoded again, is refused");
    }
    if (again->body_case() != decoded->body_case() ||
        again->message_id() != decoded->message_id() ||
        again->in_reply_to() != decoded->in_reply_to()) {
        broken("an envelope changed through encode and decode");
    }
    // From there on the encoding is a fixed point, and the two-step encoding the server uses
    // (straight into a ZeroMQ message) writes the same bytes.
    if (protocol::encode(*again) != first) {
        broken("encode(decode(encode(x))) differs from encode(x)");
    }
    std::string two_step(protocol::prepare_encoding(*again), '\0');
    protocol::encode_into(*again, two_step.data());
    if (two_step != first) {
        broken("prepare_encoding + encode_into differs from encode");
    }
    // Shaped for any served version, it is still a frame that version's peer accepts, stamped
    // with that version and of the same type.
    for (std::uint32_t version = protocol::kOldestServedVersion;
         version <= protocol::kProtocolVersion; ++version) {
        auto shaped = protocol::downgrade(*again, version);
        if (!shaped) {
            continue;  // a type that version does not have
        }
        auto read = protocol::decode(protocol::encode(*shaped, version));
        if (!read || read->version() != version || read->body_case() != again->body_case()) {
            broken("a downgraded envelope is refused, or changed type or version");
        }
    }
    return 0;
}
