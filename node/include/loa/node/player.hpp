// Plays one media item through a GStreamer pipeline: preroll ahead of time, start on the clock.
#pragma once

#include <cstdint>
#include <expected>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

namespace loa::node {

enum class MediaKind { audio, video, image };

/// Where the audio goes: `auto` (autoaudiosink), `alsa[:device]`, `file:<dir>` (one WAV per play,
/// written at real-time pace) or `fake` (fakesink, clocked).
struct SinkSpec {
    enum class Kind { automatic, alsa, file, fake };
    Kind kind = Kind::fake;
    std::string alsa_device;         ///< empty for the default device
    std::filesystem::path file_dir;  ///< for Kind::file

    static std::expected<SinkSpec, std::string> parse(std::string_view text);
};

/// Where panel (video/image) output goes: `auto` (autovideosink), `kms` (kmssink, LED board on a
/// device), `fake` (fakesink sync=true: frames are paced and counted, nothing shown).
struct DisplaySpec {
    enum class Kind { automatic, kms, fake };
    Kind kind = Kind::fake;

    static std::expected<DisplaySpec, std::string> parse(std::string_view text);
};

/// One thing to put on air.
struct PlayItem {
    std::filesystem::path media;
    MediaKind kind = MediaKind::audio;
    std::string output_name;  ///< file sink: the WAV's name (audio only)
    /// Start this far into the media (a late join resumes); audio and video.
    std::int64_t offset_us = 0;
    /// Image: how long it is shown (must be > 0); audio/video: how much airs, 0 = to the end.
    std::int64_t display_us = 0;
};

/// What GStreamer's `level` element measured while the play aired, after the volume element:
/// what went to the amplifier.
struct AudioLevels {
    double rms_dbfs = -120;       ///< mean power: each interval's linear power averaged, in dB
    double peak_dbfs = -120;      ///< highest sample peak seen (floor −120)
    double silent_seconds = 0;    ///< total length of the 100 ms intervals below the threshold
    double measured_seconds = 0;  ///< total length of the intervals measured
    double threshold_dbfs = -50;
};

struct PlayerOptions {
    SinkSpec audio;
    DisplaySpec display;
    double silence_threshold_dbfs = -50;
    double volume = 1.0;  ///< linear 0..1, initial
};

/// What happened during one play. Times are UTC microseconds from the system clock.
struct PlayResult {
    bool ok = false;
    std::int64_t start_us = 0;  ///< when the first sample/frame was rendered (0 if nothing aired)
    std::int64_t end_us = 0;    ///< when EOS, the display time, an error or stop() ended it
    std::string error;          ///< GStreamer's message when !ok
    bool stopped = false;       ///< ended by stop(), not by the media
    std::optional<AudioLevels> levels;  ///< audio plays that aired
    std::uint64_t frames_rendered = 0;  ///< video/image plays: frames the display sink rendered
};

/// One pipeline at a time. preroll() and play_at() are called from the player thread; stop() and
/// set_volume() may be called from any thread.
class Player {
  public:
    explicit Player(PlayerOptions options);
    explicit Player(SinkSpec sink);  ///< audio only, to `sink`
    ~Player();
    Player(const Player&) = delete;
    Player& operator=(const Player&) = delete;

    /// Builds the pipeline for `item` and takes it to PAUSED at `offset_us`, so that play_at()
    /// starts without decoding latency:
    /// - audio: `filesrc ! decodebin ! audioconvert ! audioresample ! volume ! level ! <sink>`;
    ///   with a file sink the WAV is written to `file_dir/<output_name>.wav`;
    /// - video: `filesrc ! decodebin ! videoconvert ! videoscale ! <display>` (sound discarded);
    /// - image: `filesrc ! decodebin ! videoconvert ! videoscale ! imagefreeze ! <display>`.
    /// Fails, naming the file, when the media has no stream of the item's kind.
    std::expected<void, std::string> preroll(const PlayItem& item);

    /// preroll() of an audio item.
    std::expected<void, std::string> preroll(const std::filesystem::path& media,
                                             const std::string& output_name);

    /// Blocks until the system (UTC) clock reaches `start_at_us`, starts the prerolled item so its
    /// first sample/frame is rendered at that instant, and returns when it ends (EOS, display time
    /// over, error, or stop()). start_at_us <= now (or 0) starts at once.
    PlayResult play_at(std::int64_t start_at_us);

    /// play_at(0).
    PlayResult play();

    /// Interrupts a play in progress, or cancels a prerolled one before it airs (thread-safe);
    /// play_at() then returns with stopped = true. The next preroll() clears it.
    void stop();

    /// Linear gain 0..1 for the audio playing now (applied live) and for later items
    /// (thread-safe). Values outside are clamped; NaN is ignored.
    void set_volume(double linear);

    /// True from the moment a play_at() set its pipeline PLAYING until it returns (thread-safe).
    /// Before that, a prerolled item holds buffers made at the volume of its preroll.
    bool playing() const;

  private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

}  // namespace loa::node
