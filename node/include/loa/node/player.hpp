// Plays one media file through a GStreamer pipeline: preroll ahead of time, start on the clock.
#pragma once

#include <cstdint>
#include <expected>
#include <filesystem>
#include <memory>
#include <string>
#include <string_view>

namespace loa::node {

/// Where the audio goes: `auto` (autoaudiosink), `alsa[:device]`, `file:<dir>` (one WAV per play,
/// written at real-time pace) or `fake` (fakesink, clocked).
struct SinkSpec {
    enum class Kind { automatic, alsa, file, fake };
    Kind kind = Kind::fake;
    std::string alsa_device;         ///< empty for the default device
    std::filesystem::path file_dir;  ///< for Kind::file

    static std::expected<SinkSpec, std::string> parse(std::string_view text);
};

/// What happened during one play. Times are UTC microseconds from the system clock.
struct PlayResult {
    bool ok = false;
    std::int64_t start_us = 0;  ///< when the pipeline went to PLAYING (0 if it never did)
    std::int64_t end_us = 0;    ///< when EOS, an error or stop() ended it
    std::string error;          ///< GStreamer's message when !ok
    bool stopped = false;       ///< ended by stop(), not by the media
};

/// One pipeline at a time. preroll() and play() are called from the player thread; stop() may
/// be called from any thread.
class Player {
  public:
    explicit Player(SinkSpec sink);
    ~Player();
    Player(const Player&) = delete;
    Player& operator=(const Player&) = delete;

    /// Builds `filesrc ! decodebin ! audioconvert ! audioresample ! <sink>` for `media` and takes
    /// it to PAUSED, so that play() starts without decoding latency. With a file sink the WAV is
    /// written to `file_dir/<output_name>.wav`.
    std::expected<void, std::string> preroll(const std::filesystem::path& media,
                                             const std::string& output_name);

    /// Sets the prerolled pipeline PLAYING and blocks until end of stream, error or stop().
    PlayResult play();

    /// Interrupts a play in progress (thread-safe); play() then returns with stopped = true.
    void stop();

  private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

}  // namespace loa::node
