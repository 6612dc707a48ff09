// Loudness normalisation and transcoding to Ogg/Opus for broadcast on the village loudspeakers.
#pragma once

#include <expected>
#include <filesystem>

#include "loa/media/error.hpp"
#include "loa/media/loudness.hpp"
#include "loa/media/progress.hpp"

namespace loa::media {

/// What normalise_to_opus aims for.
struct OpusSettings {
    double target_lufs = -23.0;        ///< EBU R128 integrated loudness of the output
    double max_true_peak_dbtp = -1.0;  ///< the gain is lowered so the output stays at or below
    int bitrate_bps = 24000;           ///< Opus bitrate, bits per second
    /// Input whose integrated loudness is below this is refused as silence (Error::Code::empty):
    /// lifting it to the target would broadcast mostly noise. Digital silence, which has no
    /// integrated loudness at all, is always refused.
    double silence_floor_lufs = -60.0;
};

/// The outcome of a normalise_to_opus run.
struct Transcoded {
    Loudness before;  ///< the input, measured at its own rate and channel count
    Loudness after;   ///< the written Opus file, decoded and measured again
    double gain_db;   ///< the one gain applied, chosen from the mono 48 kHz mixdown
};

/// Writes `out` as Ogg/Opus, mono, 48 kHz, at `bitrate_bps`, with one linear gain that brings the
/// integrated loudness to the target, lowered if needed so the true peak stays at or below the
/// limit. Measures the result again (`after`); if Opus coding pushed the true peak over the limit,
/// the gain is lowered by the overshoot and the file encoded again (up to two retries; a small
/// overshoot may remain). Refuses silent input and input quieter than the silence floor
/// (Error::Code::empty). Writes to out + ".part" and renames into place; on failure nothing is left
/// at `out`. `progress` follows the whole run (it decodes the input four times). Never throws.
std::expected<Transcoded, Error> normalise_to_opus(const std::filesystem::path& in,
                                                   const std::filesystem::path& out,
                                                   const OpusSettings& settings = {},
                                                   const Progress& progress = {});

}  // namespace loa::media
