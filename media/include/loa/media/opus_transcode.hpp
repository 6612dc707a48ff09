// Loudness normalisation and transcoding to Ogg/Opus for broadcast on the village loudspeakers.
#pragma once

#include <cstdint>
#include <expected>
#include <filesystem>
#include <string>
#include <vector>

#include "loa/media/audio_probe.hpp"
#include "loa/media/error.hpp"
#include "loa/media/loudness.hpp"
#include "loa/media/progress.hpp"

namespace loa::media {

/// What normalise_to_opus aims for.
struct OpusSettings {
    double target_lufs = -23.0;        ///< EBU R128 integrated loudness of the output
    double max_true_peak_dbtp = -1.0;  ///< the output's true peak stays at or below
    int bitrate_bps = 24000;           ///< Opus bitrate, bits per second
    /// Input whose integrated loudness is below this is refused as silence (Error::Code::empty):
    /// lifting it to the target would broadcast mostly noise. Digital silence, which has no
    /// loudness at all, is always refused.
    double silence_floor_lufs = -60.0;
    /// Longer input is refused (Error::Code::too_long): from its header before decoding when the
    /// header states a length, else once decoding passes it. 0: no limit.
    std::int64_t max_duration_us = 0;
    /// The encoded file's loudness is brought within this of the target (LU).
    double tolerance_lu = 0.5;
};

/// The share of normalise_to_opus's progress that the first decoding (checking and measuring the
/// input) takes; the encodings take the rest.
inline constexpr double kAnalysisShare = 0.3;

/// Input shorter than this is refused (Error::Code::too_short): a click, not an item.
inline constexpr double kShortestAudioSeconds = 0.1;

/// The outcome of a normalise_to_opus run.
struct Transcoded {
    AudioInfo source;  ///< the input as probed: format, length, warnings
    /// The input at its own rate and channel count: integrated loudness and length (its true
    /// peak is not measured, -infinity; the peaks that matter are the encoder signal's).
    Loudness before;
    Loudness after;         ///< the written Opus file, decoded and measured again
    double gain_db = 0;     ///< the gain applied to the mono 48 kHz signal
    double limited_db = 0;  ///< the limiter's deepest gain reduction (0: it was not needed)
    int encodes = 0;        ///< how many times the file was encoded to reach the target
    /// Wall-clock seconds spent deciding (the first decoding), encoding and measuring the
    /// encoded results: where an import's time goes, for the benchmark.
    double analyse_s = 0;
    double encode_s = 0;
    double measure_s = 0;
    /// Share of the signal's energy that is noise rather than speech or music (0–1).
    double noise_share = 0;
    /// For the operator and the approver (bilingual, one line each): junk ignored at the end,
    /// mostly noise, a very quiet recording lifted a lot, heavy limiting.
    std::vector<std::string> warnings;
};

/// Writes `out` as Ogg/Opus, mono, 48 kHz, at `bitrate_bps`, at the target loudness.
///
/// One decoding of `in` checks it whole (probe_audio's checks, the length limit, no video
/// stream), measures its loudness as it is and as the mono 48 kHz signal the encoder gets, and
/// how much of it is noise. It is then encoded with the gain that brings the signal to the
/// target; where that gain would put peaks over the true-peak limit, a look-ahead limiter holds
/// them under it instead of giving up loudness. The encoded file is decoded and measured: while
/// its loudness is further than `tolerance_lu` from the target (Opus at low bitrates drops
/// treble, and with it loudness) or its true peak over the limit, the gain or the limiter's
/// ceiling is corrected and the file encoded again, at most four times in all.
///
/// Refuses silent input, input quieter than the silence floor (Error::Code::empty), input
/// shorter than kShortestAudioSeconds, longer than the limit, or with a video stream. Writes to
/// out + ".part" and renames into place; on failure nothing is left at `out`. Memory does not
/// grow with the length of the input. `progress` follows the whole run. Never throws.
std::expected<Transcoded, Error> normalise_to_opus(const std::filesystem::path& in,
                                                   const std::filesystem::path& out,
                                                   const OpusSettings& settings = {},
                                                   const Progress& progress = {});

}  // namespace loa::media
