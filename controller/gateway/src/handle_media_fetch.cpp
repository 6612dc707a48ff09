// C:MANIFEST-REQUEST and C:CHUNK-REQUEST — a node fetches media by hash: first how the file is cut
// into chunks and each chunk's digest, then the chunks it lacks, as its credit window allows.
#include <algorithm>

#include <spdlog/spdlog.h>

#include "loa/controller/gateway/node_gateway.hpp"
#include "loa/protocol/envelope.hpp"

namespace loa::controller {

namespace {
/// Manifests kept in memory (each about 0.05 % of its file's size).
constexpr std::size_t kManifestCacheEntries = 256;
}  // namespace

std::shared_ptr<const media::ChunkManifest> NodeGateway::manifest_of(const std::string& media_hash,
                                                                     std::string& why) {
    if (auto cached = manifests_.find(media_hash); cached != manifests_.end()) {
        return cached->second;
    }
    // The store refuses anything that is not a content hash, so a request cannot name a path.
    if (!content_.contains(media_hash)) {
        why = "no media " + media_hash + " on this controller";
        return nullptr;
    }
    auto made =
        media::ChunkManifest::of_file(content_.path_for(media_hash), options_.transfer_chunk_bytes);
    if (!made) {
        why = made.error().message;
        return nullptr;
    }
    if (made->media_hash != media_hash) {
        spdlog::error("media {} in the store hashes to {}: damaged on disk, not served", media_hash,
                      made->media_hash);
        why = "media " + media_hash + " is damaged in the controller's store";
        return nullptr;
    }
    if (manifests_.size() >= kManifestCacheEntries) {
        manifests_.erase(manifest_order_.front());
        manifest_order_.pop_front();
    }
    auto manifest = std::make_shared<const media::ChunkManifest>(std::move(*made));
    manifests_[media_hash] = manifest;
    manifest_order_.push_back(media_hash);
    return manifest;
}

void NodeGateway::handle_manifest_request(const std::string& routing_id, const wire::Envelope& in) {
    const std::string& hash = in.manifest_request().media_hash();
    std::string why;
    auto manifest = manifest_of(hash, why);
    if (!manifest) {
        send_error(routing_id, wire::NOT_FOUND, why, in.message_id());
        return;
    }
    wire::Envelope out;
    auto* m = out.mutable_manifest();
    m->set_media_hash(hash);
    m->set_total_size(manifest->total_size);
    m->set_chunk_size(manifest->chunk_size);
    m->set_chunk_digests(manifest->packed_digests());
    if (send(routing_id, std::move(out), in.message_id())) {
        ++stats_.manifests_served;
    }
}

void NodeGateway::handle_chunk_request(const std::string& routing_id, const wire::Envelope& in) {
    const auto& request = in.chunk_request();
    auto size = content_.size_of(request.media_hash());
    if (!size) {
        send_error(routing_id, wire::NOT_FOUND, size.error().message, in.message_id());
        return;
    }
    std::uint32_t length = std::min(request.length(), protocol::kMaxChunkBytes);
    auto data = content_.read_chunk(request.media_hash(), request.offset(), length);
    if (!data) {
        send_error(routing_id, wire::NOT_FOUND, data.error().message, in.message_id());
        return;
    }
    std::size_t bytes = data->size();
    wire::Envelope out;
    auto* chunk = out.mutable_chunk();
    chunk->set_media_hash(request.media_hash());
    chunk->set_offset(request.offset());
    chunk->set_total_size(*size);
    chunk->set_data(std::move(*data));
    if (send(routing_id, std::move(out), in.message_id())) {
        ++stats_.chunks_served;
        stats_.bytes_served += bytes;
    }
}

}  // namespace loa::controller
