// EBU R128 loudness measurement (libebur128) of audio decoded with FFmpeg.
#pragma once

#include <expected>
#include <filesystem>
#include <functional>

#include "loa/media/error.hpp"
#include "loa/media/progress.hpp"

namespace loa::media {

/// EBU R128 loudness of a whole audio file (any format FFmpeg decodes).
/// Silent audio has no integrated loudness: `integrated_lufs` is then -HUGE_VAL (-infinity), and
/// digital silence also has a `true_peak_dbtp` of -HUGE_VAL.
struct Loudness {
    double integrated_lufs;  ///< LUFS, gated (ITU-R BS.1770-4)
    double true_peak_dbtp;   ///< dBTP, the loudest channel's 4x-oversampled peak
    double duration_s;       ///< seconds of decoded audio
};

/// Shape of the samples handed to a PcmSink.
struct PcmFormat {
    int sample_rate;  ///< Hz
    int channels;     ///< interleaved, in FFmpeg's channel order
};

/// Receives `frames` frames of interleaved float samples (nominally within [-1, 1]); an error
/// stops the decoding and is returned by decode_pcm.
using PcmSink = std::function<std::expected<void, Error>(const float* samples, int frames,
                                                         const PcmFormat& format)>;

/// Decodes the best audio stream of `file` completely, converted with libswresample to
/// interleaved float at `sample_rate` Hz and `channels` channels (0 keeps the source's), and
/// hands it to `sink` chunk by chunk. Returns the format delivered. `progress` follows the
/// decoding. Never throws.
std::expected<PcmFormat, Error> decode_pcm(const std::filesystem::path& file, const PcmSink& sink,
                                           int sample_rate = 0, int channels = 0,
                                           const Progress& progress = {});

/// Measures `file` at its own sample rate and channel count (EBU R128 integrated loudness and
/// true peak). Silence is not an error: see Loudness. Never throws.
std::expected<Loudness, Error> measure_loudness(const std::filesystem::path& file);

/// As measure_loudness(file), but of the audio after conversion to `sample_rate`/`channels`
/// (0 keeps the source's), e.g. the mono 48 kHz signal an encoder will receive.
std::expected<Loudness, Error> measure_loudness(const std::filesystem::path& file, int sample_rate,
                                                int channels, const Progress& progress = {});

}  // namespace loa::media
