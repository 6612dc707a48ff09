// The node's media prefetch: manifest, credit-windowed chunk requests, per-chunk verification,
// resume from the verified chunks on disk, and periodic re-verification of ready files.
#include "loa/node/media_fetcher.hpp"

#include <algorithm>
#include <expected>

#include <spdlog/spdlog.h>

#include "loa/protocol/envelope.hpp"

namespace loa::node {

namespace {

std::string short_hash(const std::string& hash) {
    return hash.substr(0, 12);
}

/// Round trips this close to the fastest seen mean the link has room for more in flight.
bool link_has_room(std::int64_t rtt_us, std::int64_t min_rtt_us) {
    return rtt_us <= 2 * min_rtt_us + 10'000;
}

/// Round trips this far above the fastest seen mean requests are queueing somewhere.
bool link_is_queueing(std::int64_t rtt_us, std::int64_t min_rtt_us) {
    return rtt_us > 4 * min_rtt_us + 100'000;
}

/// The manifest as received, if it can be fetched by: it adds up (from_packed), and its chunks
/// are no longer than a controller serves in one answer (a longer one would never come whole).
std::expected<media::ChunkManifest, media::Error> usable_manifest(const wire::Manifest& m) {
    auto parsed = media::ChunkManifest::from_packed(m.media_hash(), m.total_size(), m.chunk_size(),
                                                    m.chunk_digests());
    const std::uint64_t longest =
        parsed ? std::min<std::uint64_t>(parsed->chunk_size, parsed->total_size) : 0;
    if (longest > protocol::kMaxChunkBytes) {
        return std::unexpected(media::Error{
            media::Error::Code::corrupt,
            fmt::format("manifest of {}: {}-byte chunks, but at most {} bytes are served at once",
                        short_hash(m.media_hash()), longest, protocol::kMaxChunkBytes)});
    }
    return parsed;
}

}  // namespace

MediaFetcher::MediaFetcher(media::ContentStore& store, FetchOptions options, Send send)
    : store_(store),
      options_(options),
      send_(std::move(send)),
      window_(std::clamp(options.initial_window, 1, std::max(1, options.max_window))) {}

void MediaFetcher::set_needs(std::vector<MediaNeed> needs, std::int64_t horizon_end_us) {
    std::stable_sort(needs.begin(), needs.end(), [](const MediaNeed& a, const MediaNeed& b) {
        return a.needed_at_us < b.needed_at_us;
    });
    std::set<std::string> seen;
    std::erase_if(needs, [&](const MediaNeed& n) { return !seen.insert(n.media_hash).second; });
    bool same =
        needs.size() == needs_.size() && std::equal(needs.begin(), needs.end(), needs_.begin(),
                                                    [](const MediaNeed& a, const MediaNeed& b) {
                                                        return a.media_hash == b.media_hash &&
                                                               a.needed_at_us == b.needed_at_us;
                                                    });
    needs_ = std::move(needs);
    horizon_end_us_ = horizon_end_us;
    next_start_scan_us_ = 0;
    if (!same) {
        changed();
    }
    if (!current_.empty() && !seen.contains(current_)) {
        spdlog::info("media {} no longer needed; download paused (kept for later)",
                     short_hash(current_));
        abandon_current();
    }
}

void MediaFetcher::tick(std::int64_t now_us) {
    std::erase_if(unavailable_until_, [&](const auto& entry) {
        bool retry = entry.second <= now_us;
        if (retry) {
            changed();
            next_start_scan_us_ = 0;
        }
        return retry;
    });
    // Which file comes next means a stat of every needed file: done when the needs or the
    // current file change, and once a second, not on every tick of an idle node.
    if (now_us >= next_start_scan_us_) {
        next_start_scan_us_ = now_us + kStartScanUs;
        start_next();
    }
    if (current_.empty()) {
        reverify_one(now_us);
        return;
    }
    if (!manifest_) {
        if (manifest_sent_us_ == 0 || now_us - manifest_sent_us_ > options_.request_timeout_us) {
            wire::Envelope out;
            out.mutable_manifest_request()->set_media_hash(current_);
            manifest_sent_us_ = send_(std::move(out)) ? now_us : 0;
        }
        return;
    }
    bool timed_out = false;
    for (auto it = in_flight_.begin(); it != in_flight_.end();) {
        if (now_us - it->second.sent_us > options_.request_timeout_us) {
            missing_.insert(it->first);
            repeated_.insert(it->first);
            ++stats_.chunks_timed_out;
            timed_out = true;
            it = in_flight_.erase(it);
        } else {
            ++it;
        }
    }
    if (timed_out) {
        window_ = std::max(1, window_ / 2);
        answered_in_window_ = 0;
        spdlog::warn("media {}: chunk requests timed out; window now {}", short_hash(current_),
                     window_);
    }
    send_requests(now_us);
}

void MediaFetcher::set_free_bytes(std::optional<std::uint64_t> free_bytes) {
    free_bytes_ = free_bytes;
    if (!no_room_.empty()) {
        next_start_scan_us_ = 0;  // what had no room may fit now
    }
    if (free_bytes_ && *free_bytes_ < kKeepFreeBytes && !current_.empty()) {
        spdlog::warn(
            "media {}: download paused, the disk has {} bytes free (media never takes "
            "the last {} bytes: the store needs them); it resumes when there is room",
            short_hash(current_), *free_bytes_, kKeepFreeBytes);
        no_room_.insert(current_);
        abandon_current();
    }
}

void MediaFetcher::start_next() {
    const MediaNeed* next = nullptr;
    std::set<std::string> no_room;
    for (const auto& need : needs_) {
        if (unavailable_until_.contains(need.media_hash) || store_.contains(need.media_hash)) {
            continue;
        }
        // The chunks already held count as room (a paused transfer resumes where it was).
        const std::uint64_t held =
            need.media_hash == current_ ? 0 : store_.partial_size(need.media_hash);
        const std::uint64_t wanted = need.size > held ? need.size - held : 0;
        if (free_bytes_ && wanted + kKeepFreeBytes > *free_bytes_ && need.media_hash != current_) {
            if (!no_room_.contains(need.media_hash)) {
                spdlog::warn(
                    "media {} ({} bytes) not fetched now: the disk has {} bytes free and "
                    "media never takes the last {}; fetched when there is room",
                    short_hash(need.media_hash), need.size, *free_bytes_, kKeepFreeBytes);
            }
            no_room.insert(need.media_hash);
            continue;
        }
        next = &need;
        break;
    }
    if (no_room != no_room_) {
        no_room_ = std::move(no_room);
        changed();
    }
    if (next == nullptr || next->media_hash == current_) {
        return;
    }
    if (!current_.empty()) {
        // Something needed sooner than the file in progress: that one waits, resumable.
        spdlog::info("media {} is needed sooner; {} waits", short_hash(next->media_hash),
                     short_hash(current_));
        abandon_current();
    }
    current_ = next->media_hash;
    file_requests_ = 0;
    file_rejected_ = 0;
    manifest_.reset();
    manifest_sent_us_ = 0;
    changed();
}

void MediaFetcher::abandon_current() {
    current_.clear();
    next_start_scan_us_ = 0;
    manifest_.reset();
    manifest_sent_us_ = 0;
    have_.clear();
    missing_.clear();
    in_flight_.clear();
    repeated_.clear();
    changed();
}

void MediaFetcher::on_manifest(const wire::Manifest& manifest, std::int64_t now_us) {
    if (manifest.media_hash() != current_ || manifest_) {
        return;  // an answer to a request given up on
    }
    auto parsed = usable_manifest(manifest);
    if (!parsed) {
        // The same controller would most likely answer the same at once: ask again only after
        // a request timeout, as if this answer had never come.
        spdlog::error("media {}: {}; asking again in {} s", short_hash(current_),
                      parsed.error().message, options_.request_timeout_us / 1'000'000);
        manifest_sent_us_ = now_us;
        return;
    }
    manifest_ = std::move(*parsed);
    // Resume: chunks already on disk are kept only if they still match their digest.
    have_ = store_.partial_chunks(*manifest_);
    whole_ = media::Sha256();
    hashed_upto_ = 0;
    missing_.clear();
    in_flight_.clear();
    repeated_.clear();
    std::uint32_t held = 0;
    for (std::uint32_t i = 0; i < manifest_->chunk_count(); ++i) {
        if (have_[i]) {
            ++held;
        } else {
            missing_.insert(i);
        }
    }
    spdlog::info("fetching media {} ({} bytes, {} chunks{})", short_hash(current_),
                 manifest_->total_size, manifest_->chunk_count(),
                 held > 0 ? fmt::format(", {} already held", held) : std::string());
    if (missing_.empty()) {
        if (manifest_->total_size == 0) {
            (void)store_.write_partial(current_, 0, {});
        }
        finish_current(now_us);
        return;
    }
    send_requests(now_us);
}

void MediaFetcher::send_requests(std::int64_t now_us) {
    while (static_cast<int>(in_flight_.size()) < window_ && !missing_.empty()) {
        if (options_.max_bytes_per_s > 0 && now_us < rate_next_us_) {
            return;  // over the metered rate: the next tick asks again
        }
        std::uint32_t index = *missing_.begin();
        wire::Envelope out;
        auto* request = out.mutable_chunk_request();
        request->set_media_hash(current_);
        request->set_offset(manifest_->offset_of(index));
        request->set_length(manifest_->length_of(index));
        if (!send_(std::move(out))) {
            return;  // no connection: asked again on a later tick
        }
        missing_.erase(missing_.begin());
        in_flight_[index] = Request{now_us, repeated_.erase(index) > 0};
        ++stats_.chunks_requested;
        ++file_requests_;
        if (options_.max_bytes_per_s > 0) {
            auto spacing = static_cast<std::int64_t>(manifest_->length_of(index) * 1'000'000 /
                                                     options_.max_bytes_per_s);
            rate_next_us_ = std::max(rate_next_us_, now_us) + spacing;
        }
    }
}

void MediaFetcher::adapt_window(std::int64_t rtt_us) {
    if (min_rtt_us_ == 0 || rtt_us < min_rtt_us_) {
        min_rtt_us_ = std::max<std::int64_t>(rtt_us, 1);
    }
    if (link_is_queueing(rtt_us, min_rtt_us_)) {
        window_ = std::max(1, window_ - 1);
        answered_in_window_ = 0;
    } else if (link_has_room(rtt_us, min_rtt_us_) && ++answered_in_window_ >= window_) {
        window_ = std::min(std::max(1, options_.max_window), window_ + 1);
        answered_in_window_ = 0;
    }
}

void MediaFetcher::on_chunk(const wire::Chunk& chunk, std::int64_t now_us) {
    if (!manifest_ || chunk.media_hash() != current_ ||
        chunk.offset() % manifest_->chunk_size != 0 || chunk.offset() >= manifest_->total_size) {
        return;  // checked before narrowing: a far offset must not wrap onto a chunk in flight
    }
    auto index = static_cast<std::uint32_t>(chunk.offset() / manifest_->chunk_size);
    auto request = in_flight_.find(index);
    if (request == in_flight_.end()) {
        return;  // a late answer to a request that timed out and was sent again
    }
    if (!request->second.repeated) {
        adapt_window(now_us - request->second.sent_us);
    }
    in_flight_.erase(request);
    if (!manifest_->matches(index, chunk.data())) {
        ++stats_.chunks_rejected;
        ++file_rejected_;
        spdlog::warn("media {}: chunk {} ({} bytes at {}) does not match its digest; asking again",
                     short_hash(current_), index, chunk.data().size(), chunk.offset());
        missing_.insert(index);
        send_requests(now_us);
        return;
    }
    if (auto written = store_.write_partial(current_, chunk.offset(), chunk.data()); !written) {
        spdlog::error("media {}: {}", short_hash(current_), written.error().message);
        unavailable_until_[current_] = now_us + options_.unavailable_retry_us;
        abandon_current();
        return;
    }
    have_[index] = true;
    ++stats_.chunks_accepted;
    stats_.bytes_accepted += chunk.data().size();
    if (index == hashed_upto_) {
        whole_.update(chunk.data());  // in order: hashed now, while the bytes are at hand
        ++hashed_upto_;
    }
    advance_whole_hash();
    if (missing_.empty() && in_flight_.empty()) {
        finish_current(now_us);
        return;
    }
    send_requests(now_us);
}

void MediaFetcher::advance_whole_hash() {
    // Chunks held beyond the hashed prefix (resumed, or arrived out of order) are read back.
    while (manifest_ && hashed_upto_ < manifest_->chunk_count() && have_[hashed_upto_]) {
        auto data = store_.read_partial(current_, manifest_->offset_of(hashed_upto_),
                                        manifest_->length_of(hashed_upto_));
        if (!data || !manifest_->matches(hashed_upto_, *data)) {
            spdlog::warn("media {}: chunk {} changed on disk; fetching it again",
                         short_hash(current_), hashed_upto_);
            have_[hashed_upto_] = false;
            missing_.insert(hashed_upto_);
            return;
        }
        whole_.update(*data);
        ++hashed_upto_;
    }
}

void MediaFetcher::finish_current(std::int64_t now_us) {
    next_start_scan_us_ = 0;
    std::string hash = current_;
    // Every byte written was hashed on its way to disk (in file order), so the whole file is
    // checked without reading it back; the player re-hashes it before it goes on air.
    advance_whole_hash();
    if (!missing_.empty()) {
        send_requests(now_us);  // a held chunk changed on disk: fetched again first
        return;
    }
    auto completed = manifest_ && hashed_upto_ == manifest_->chunk_count()
                         ? store_.complete_partial(hash, whole_.finish())
                         : store_.complete_partial(hash);
    if (completed) {
        spdlog::info("media {} ready ({} bytes, hash verified; {} chunk requests, {} rejected)",
                     short_hash(hash), manifest_ ? manifest_->total_size : 0, file_requests_,
                     file_rejected_);
        ++stats_.files_completed;
        verified_at_[hash] = now_us;
        ready_news_ = true;
    } else {
        // Every chunk matched the manifest but the whole did not match its name: the manifest
        // itself was wrong. The partial file is gone; fetch again after a pause.
        spdlog::error("media {} discarded: {}", short_hash(hash), completed.error().message);
        unavailable_until_[hash] = now_us + options_.request_timeout_us;
    }
    abandon_current();
}

void MediaFetcher::on_not_found(std::int64_t now_us) {
    if (current_.empty()) {
        return;
    }
    spdlog::error("controller does not have media {}; asking again in {} s", short_hash(current_),
                  options_.unavailable_retry_us / 1'000'000);
    unavailable_until_[current_] = now_us + options_.unavailable_retry_us;
    abandon_current();
}

void MediaFetcher::on_session_lost() {
    for (const auto& [index, request] : in_flight_) {
        missing_.insert(index);
        repeated_.insert(index);
    }
    in_flight_.clear();
    if (!manifest_) {
        manifest_sent_us_ = 0;
    }
    min_rtt_us_ = 0;  // a new connection may take another path
    answered_in_window_ = 0;
}

void MediaFetcher::reverify_one(std::int64_t now_us) {
    for (const auto& need : needs_) {
        auto last = verified_at_.find(need.media_hash);
        if (last != verified_at_.end() && now_us - last->second < options_.reverify_interval_us) {
            continue;
        }
        if (!store_.contains(need.media_hash)) {
            continue;
        }
        if (auto ok = store_.verify(need.media_hash); ok) {
            verified_at_[need.media_hash] = now_us;
        } else {
            ++stats_.files_damaged;
            verified_at_.erase(need.media_hash);
            spdlog::error("media {} failed its check and is fetched again: {}",
                          short_hash(need.media_hash), ok.error().message);
            changed();
            next_start_scan_us_ = 0;
        }
        return;  // one file per tick keeps the session responsive
    }
}

bool MediaFetcher::take_ready_news() {
    return std::exchange(ready_news_, false);
}

wire::MediaStatus MediaFetcher::status() const {
    wire::MediaStatus out;
    out.set_horizon_end_us(horizon_end_us_);
    for (const auto& need : needs_) {
        auto* item = out.add_items();
        item->set_media_hash(need.media_hash);
        item->set_needed_at_us(need.needed_at_us);
        item->set_total_size(need.size);
        if (store_.contains(need.media_hash)) {
            item->set_state(wire::MEDIA_READY);
            auto size = store_.size_of(need.media_hash);
            item->set_total_size(size ? *size : need.size);
            item->set_bytes_held(item->total_size());
        } else if (need.media_hash == current_) {
            item->set_state(wire::MEDIA_FETCHING);
            if (manifest_) {
                std::uint64_t held = 0;
                for (std::uint32_t i = 0; i < manifest_->chunk_count(); ++i) {
                    held += have_[i] ? manifest_->length_of(i) : 0;
                }
                item->set_bytes_held(held);
                item->set_total_size(manifest_->total_size);
            }
        } else if (unavailable_until_.contains(need.media_hash)) {
            item->set_state(wire::MEDIA_UNAVAILABLE);
        } else {
            item->set_state(wire::MEDIA_QUEUED);
        }
    }
    return out;
}

}  // namespace loa::node
