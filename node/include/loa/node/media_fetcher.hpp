// Prefetching media by content hash: manifest first, then chunks under a credit window sized to
// the link, each chunk verified as it arrives, the whole file verified before it may play.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "loa/media/chunk_manifest.hpp"
#include "loa/media/content_store.hpp"
#include "loa/protocol/loa.pb.h"

namespace loa::node {

struct FetchOptions {
    int initial_window = 2;  ///< chunk requests in flight when a transfer starts
    int max_window = 16;     ///< never more in flight than this (bounds the controller's queue)
    std::int64_t request_timeout_us = 10'000'000;    ///< an unanswered request is sent again
    std::int64_t unavailable_retry_us = 60'000'000;  ///< after NOT_FOUND, ask again this late
    /// A ready file is hashed again when its last check is older than this (disk corruption).
    std::int64_t reverify_interval_us = 3'600'000'000;
    /// Bytes per second to ask for at most, for metered links; 0 = as fast as the link goes.
    std::uint64_t max_bytes_per_s = 0;
};

/// One media file the timeline needs.
struct MediaNeed {
    std::string media_hash;
    std::int64_t needed_at_us = 0;  ///< start of the first pending play that needs it
    std::uint64_t size = 0;         ///< as the timeline announced it; 0 if unknown
};

/// Transfer counters, for logs, tests and benchmarks.
struct FetchStats {
    std::uint64_t chunks_requested = 0;
    std::uint64_t chunks_accepted = 0;
    std::uint64_t chunks_rejected = 0;  ///< failed their digest (corrupt on the wire): asked again
    std::uint64_t chunks_timed_out = 0;
    std::uint64_t bytes_accepted = 0;
    std::uint64_t files_completed = 0;
    std::uint64_t files_damaged = 0;  ///< ready files that failed a later check and were deleted
};

/// Fetches what the timeline needs, soonest first, one file at a time. Single-threaded: the
/// session calls it from its loop with the current time; it sends through `send`.
///
/// Credit-based flow control (zguide ch. 7, "file transfer"): the node never has more than
/// `window()` chunk requests outstanding. The window starts at `initial_window`, grows by one
/// for each full window answered while round trips stay near the fastest seen (the link has room),
/// shrinks by one when they grow well past it (a queue is building on the link) and halves when a
/// request times out. So a slow 3G node keeps one or two chunks in flight, a fast one more, and
/// the controller holds at most `max_window` chunks for any node.
class MediaFetcher {
  public:
    using Send = std::function<bool(wire::Envelope)>;

    MediaFetcher(media::ContentStore& store, FetchOptions options, Send send);

    /// What the timeline needs within the prefetch horizon, in any order; fetched soonest first.
    void set_needs(std::vector<MediaNeed> needs, std::int64_t horizon_end_us);

    /// Sends what is due: the next manifest or chunk requests the window allows, requests that
    /// timed out, and one re-verification of a ready file when due.
    void tick(std::int64_t now_us);

    void on_manifest(const wire::Manifest& manifest, std::int64_t now_us);
    void on_chunk(const wire::Chunk& chunk, std::int64_t now_us);
    /// The controller answered NOT_FOUND for the file being fetched.
    void on_not_found(std::int64_t now_us);
    /// The session is gone: requests in flight are lost; they are sent again once it is back.
    void on_session_lost();
    /// Free bytes on the data disk now (nullopt: unknown, no limit). A file is not fetched
    /// unless it fits with kKeepFreeBytes to spare, and a transfer pauses (resumable) when the
    /// disk has less than that: the store's confirmations come before media.
    void set_free_bytes(std::optional<std::uint64_t> free_bytes);
    /// What media never takes of the data disk.
    static constexpr std::uint64_t kKeepFreeBytes = 2u << 20;

    /// Per needed file, soonest first: ready, fetching, queued or unavailable.
    wire::MediaStatus status() const;
    /// Moves whenever a file changes state (not on mere progress).
    std::uint64_t status_generation() const { return status_generation_; }
    /// True when a file became ready since the last call (the player may want to know).
    bool take_ready_news();

    int window() const { return window_; }
    const FetchStats& stats() const { return stats_; }
    /// Hash of the file being fetched, "" if none.
    const std::string& current() const { return current_; }

  private:
    struct Request {
        std::int64_t sent_us = 0;
        /// Asked before (timed out or lost with the session): an answer may be to the earlier
        /// copy, so its round trip says nothing about the link (Karn's rule).
        bool repeated = false;
    };

    void start_next();
    void finish_current(std::int64_t now_us);
    void abandon_current();
    void send_requests(std::int64_t now_us);
    void adapt_window(std::int64_t rtt_us);
    void reverify_one(std::int64_t now_us);
    /// Feeds the whole-file hash the held chunks that follow its prefix.
    void advance_whole_hash();
    void changed() { ++status_generation_; }

    media::ContentStore& store_;
    FetchOptions options_;
    Send send_;

    std::vector<MediaNeed> needs_;  ///< soonest first
    std::int64_t horizon_end_us_ = 0;
    std::map<std::string, std::int64_t> unavailable_until_;
    std::map<std::string, std::int64_t> verified_at_;
    std::optional<std::uint64_t> free_bytes_;
    std::set<std::string> no_room_;  ///< needed files that do not fit on the disk now

    std::string current_;
    std::optional<media::ChunkManifest> manifest_;
    std::int64_t manifest_sent_us_ = 0;  ///< 0: no manifest request outstanding
    static constexpr std::int64_t kStartScanUs = 1'000'000;
    std::int64_t next_start_scan_us_ = 0;  ///< 0: look for the next file on the next tick
    std::vector<bool> have_;
    std::set<std::uint32_t> missing_;  ///< chunks not held and not in flight, lowest first
    std::map<std::uint32_t, Request> in_flight_;
    std::set<std::uint32_t> repeated_;  ///< to be asked again after a timeout or lost session

    media::Sha256 whole_;  ///< SHA-256 of chunks [0, hashed_upto_) of the current file
    std::uint32_t hashed_upto_ = 0;
    std::uint64_t file_requests_ = 0;  ///< chunk requests sent for the current file
    std::uint64_t file_rejected_ = 0;
    std::int64_t rate_next_us_ = 0;  ///< max_bytes_per_s: no request before this time

    int window_;
    int answered_in_window_ = 0;
    std::int64_t min_rtt_us_ = 0;

    FetchStats stats_;
    std::uint64_t status_generation_ = 1;
    bool ready_news_ = false;
};

}  // namespace loa::node
