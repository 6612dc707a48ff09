// C:CHUNK-REQUEST — a node fetches a piece of media by hash and offset; S:CHUNK answers it.
#include <algorithm>

#include <spdlog/spdlog.h>

#include "loa/controller/controller_server.hpp"
#include "loa/protocol/envelope.hpp"

namespace loa::controller {

void ControllerServer::handle_chunk_request(const std::string& routing_id,
                                            const wire::Envelope& in) {
    const auto& request = in.chunk_request();
    // The store refuses anything that is not a content hash, so a request cannot name a path.
    auto size = store_.size_of(request.media_hash());
    if (!size) {
        send_error(routing_id, wire::NOT_FOUND, size.error().message, in.message_id());
        return;
    }
    std::uint32_t length = std::min(request.length(), protocol::kMaxChunkBytes);
    auto data = store_.read_chunk(request.media_hash(), request.offset(), length);
    if (!data) {
        send_error(routing_id, wire::NOT_FOUND, data.error().message, in.message_id());
        return;
    }
    wire::Envelope out;
    auto* chunk = out.mutable_chunk();
    chunk->set_media_hash(request.media_hash());
    chunk->set_offset(request.offset());
    chunk->set_total_size(*size);
    chunk->set_data(std::move(*data));
    send(routing_id, std::move(out), in.message_id());
}

}  // namespace loa::controller
