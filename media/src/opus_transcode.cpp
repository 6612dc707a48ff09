// Normalising audio to EBU R128 and encoding it as mono 48 kHz Ogg/Opus with libavcodec's libopus.
#include "loa/media/opus_transcode.hpp"

#include "ffmpeg_handles.hpp"
#include "media_names.hpp"
#include "noise_meter.hpp"
#include "pcm_meter.hpp"
#include "peak_limiter.hpp"
#include "probe_input.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <system_error>
#include <vector>

#include <fmt/core.h>

#include "loa/media/audio_probe.hpp"

extern "C" {
#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>
#include <libavutil/audio_fifo.h>
#include <libavutil/channel_layout.h>
#include <libavutil/log.h>
#include <libavutil/samplefmt.h>
}

namespace loa::media {

namespace {

using namespace detail;

namespace fs = std::filesystem;

constexpr int kRate = 48000;
constexpr AVRational kTimeBase{1, kRate};
// Encodings in all, the first included: each correction of gain or ceiling costs one.
constexpr int kMaxEncodes = 4;
// The limiter's first ceiling sits this far under the true-peak limit: inter-sample peaks and
// Opus's coding add to the sample peaks it holds. An overshoot lowers it by that much more.
constexpr double kLimiterMarginDb = 1.0;
constexpr double kRetryMarginDb = 0.1;
constexpr double kPeakAimMarginDb = 0.2;
// Noise is looked for up to 16 kHz, or 45 % of the input's sample rate when that is lower.
constexpr double kNoiseTopHz = 16000.0;
constexpr double kNyquistShare = 0.45;
// Warnings: mostly noise; a big lift; heavy limiting; a result outside the ±1 LU promised.
constexpr double kNoisyShare = 0.5;
constexpr double kLiftWarnDb = 20.0;
constexpr double kHeavyLimitingDb = 6.0;
constexpr double kAcceptLu = 1.0;
constexpr double kPeakSlackDb = 0.05;
// Shares of normalise_to_opus's progress: analyse (one decoding), encode, measure the output (a
// small file). Further encodings report nothing more.
constexpr double kAnalysed = kAnalysisShare;
constexpr double kEncoded = 0.85;
constexpr double kMeasured = 0.95;

struct OutputFreer {
    void operator()(AVFormatContext* ctx) const {
        if (ctx->pb != nullptr && (ctx->oformat->flags & AVFMT_NOFILE) == 0) {
            avio_closep(&ctx->pb);
        }
        avformat_free_context(ctx);
    }
};
using OutputPtr = std::unique_ptr<AVFormatContext, OutputFreer>;

// Removes the partial output unless it was renamed into place.
class PartFile {
  public:
    explicit PartFile(fs::path path) : path_(std::move(path)) {}
    ~PartFile() {
        std::error_code ec;
        fs::remove(path_, ec);
    }
    PartFile(const PartFile&) = delete;
    PartFile& operator=(const PartFile&) = delete;
    const fs::path& path() const { return path_; }

  private:
    fs::path path_;
};

// Encodes mono 48 kHz float samples as Opus into an Ogg file, in frames of the encoder's size.
class OpusWriter {
  public:
    explicit OpusWriter(const fs::path& file) : file_(file) {}

    std::expected<void, Error> open(int bitrate_bps) {
        if (auto ok = openEncoder(bitrate_bps); !ok) {
            return ok;
        }
        return openMuxer();
    }

    std::expected<void, Error> write(const float* samples, int frames) {
        void* planes[] = {const_cast<float*>(samples)};
        if (av_audio_fifo_write(fifo_.get(), planes, frames) < frames) {
            return failed("cannot queue samples for the encoder", AVERROR(ENOMEM));
        }
        while (av_audio_fifo_size(fifo_.get()) >= codec_->frame_size) {
            if (auto ok = encodeFromFifo(codec_->frame_size); !ok) {
                return ok;
            }
        }
        return {};
    }

    // Encodes what is left (padded to a whole frame if the encoder needs it), then the trailer.
    std::expected<void, Error> finish() {
        if (int left = av_audio_fifo_size(fifo_.get()); left > 0) {
            if (auto ok = encodeFromFifo(left); !ok) {
                return ok;
            }
        }
        if (auto ok = send(nullptr); !ok) {
            return ok;
        }
        if (int rc = av_write_trailer(output_.get()); rc < 0) {
            return failed("cannot finish the Ogg stream", rc);
        }
        if (int rc = avio_closep(&output_->pb); rc < 0) {
            return failed("cannot close the output", rc);
        }
        return {};
    }

  private:
    std::unexpected<Error> failed(const std::string& what, int rc) const {
        return fail(Error::Code::io, file_,
                    fmt::format("mã hoá sang Opus thất bại / encoding to Opus failed: {} ({})",
                                what, avError(rc)));
    }

    std::expected<void, Error> openEncoder(int bitrate_bps) {
        const AVCodec* encoder = avcodec_find_encoder_by_name("libopus");
        if (encoder == nullptr) {
            return fail(Error::Code::io, file_,
                        "FFmpeg này không có bộ mã hoá libopus / this FFmpeg has no libopus "
                        "encoder");
        }
        small_last_frame_ = (encoder->capabilities & AV_CODEC_CAP_SMALL_LAST_FRAME) != 0;
        codec_.reset(avcodec_alloc_context3(encoder));
        packet_.reset(av_packet_alloc());
        frame_.reset(av_frame_alloc());
        if (!codec_ || !packet_ || !frame_) {
            return failed("cannot set up the encoder", AVERROR(ENOMEM));
        }
        codec_->sample_rate = kRate;
        codec_->sample_fmt = AV_SAMPLE_FMT_FLT;
        codec_->bit_rate = bitrate_bps;
        codec_->time_base = kTimeBase;
        av_channel_layout_default(&codec_->ch_layout, 1);
        if (int rc = avcodec_open2(codec_.get(), encoder, nullptr); rc < 0) {
            return failed("cannot open the libopus encoder", rc);
        }
        fifo_.reset(av_audio_fifo_alloc(AV_SAMPLE_FMT_FLT, 1, codec_->frame_size));
        if (!fifo_) {
            return failed("cannot set up the sample queue", AVERROR(ENOMEM));
        }
        return {};
    }

    std::expected<void, Error> openMuxer() {
        AVFormatContext* raw = nullptr;
        // The ".part" name says nothing of the format, so the Ogg muxer is named explicitly.
        if (int rc = avformat_alloc_output_context2(&raw, nullptr, "ogg", file_.c_str()); rc < 0) {
            return failed("cannot set up the Ogg muxer", rc);
        }
        output_.reset(raw);
        stream_ = avformat_new_stream(output_.get(), nullptr);
        if (stream_ == nullptr) {
            return failed("cannot add the audio stream", AVERROR(ENOMEM));
        }
        stream_->time_base = kTimeBase;
        if (int rc = avcodec_parameters_from_context(stream_->codecpar, codec_.get()); rc < 0) {
            return failed("cannot describe the Opus stream", rc);
        }
        if (int rc = avio_open(&output_->pb, file_.c_str(), AVIO_FLAG_WRITE); rc < 0) {
            return failed("cannot create the file", rc);
        }
        if (int rc = avformat_write_header(output_.get(), nullptr); rc < 0) {
            return failed("cannot write the Ogg header", rc);
        }
        return {};
    }

    std::expected<void, Error> encodeFromFifo(int samples) {
        int size = small_last_frame_ ? samples : codec_->frame_size;
        frame_->nb_samples = size;
        frame_->format = codec_->sample_fmt;
        frame_->sample_rate = kRate;
        av_channel_layout_copy(&frame_->ch_layout, &codec_->ch_layout);
        if (int rc = av_frame_get_buffer(frame_.get(), 0); rc < 0) {
            return failed("cannot allocate a frame", rc);
        }
        av_samples_set_silence(frame_->extended_data, 0, size, 1, codec_->sample_fmt);
        if (av_audio_fifo_read(fifo_.get(), reinterpret_cast<void**>(frame_->extended_data),
                               samples) < samples) {
            av_frame_unref(frame_.get());
            return failed("cannot take samples from the queue", AVERROR_BUG);
        }
        frame_->pts = next_pts_;
        next_pts_ += samples;
        auto sent = send(frame_.get());
        av_frame_unref(frame_.get());
        return sent;
    }

    // Sends one frame (null: end of stream) and muxes every packet the encoder then has ready.
    std::expected<void, Error> send(const AVFrame* frame) {
        if (int rc = avcodec_send_frame(codec_.get(), frame); rc < 0) {
            return failed("the encoder refused samples", rc);
        }
        int rc = 0;
        while ((rc = avcodec_receive_packet(codec_.get(), packet_.get())) >= 0) {
            av_packet_rescale_ts(packet_.get(), codec_->time_base, stream_->time_base);
            packet_->stream_index = stream_->index;
            if (int wrc = av_interleaved_write_frame(output_.get(), packet_.get()); wrc < 0) {
                return failed("cannot write an Opus packet", wrc);
            }
        }
        if (rc != AVERROR(EAGAIN) && rc != AVERROR_EOF) {
            return failed("the encoder failed", rc);
        }
        return {};
    }

    const fs::path& file_;
    CodecPtr codec_;
    PacketPtr packet_;
    FramePtr frame_;
    FifoPtr fifo_;
    OutputPtr output_;
    AVStream* stream_ = nullptr;
    std::int64_t next_pts_ = 0;
    bool small_last_frame_ = false;
};

// Clamps `samples` to full scale where they are, and writes them.
std::expected<void, Error> writeClamped(OpusWriter& writer, std::vector<float>& samples) {
    if (samples.empty()) {
        return {};
    }
    for (float& s : samples) {
        s = std::clamp(s, -1.0f, 1.0f);
    }
    return writer.write(samples.data(), static_cast<int>(samples.size()));
}

// One encoding: `in` decoded to mono 48 kHz, `gain_db` applied, peaks held under
// `ceiling_db` (dBFS) by the limiter when one is given, encoded to `part`. Returns the limiter's
// deepest reduction (dB).
std::expected<double, Error> encode(const fs::path& in, const fs::path& part, double gain_db,
                                    std::optional<double> ceiling_db, int bitrate_bps,
                                    const Progress& progress) {
    OpusWriter writer(part);
    if (auto ok = writer.open(bitrate_bps); !ok) {
        return std::unexpected(ok.error());
    }
    const auto gain = static_cast<float>(std::pow(10.0, gain_db / 20.0));
    std::optional<PeakLimiter> limiter;
    if (ceiling_db) {
        limiter.emplace(kRate, std::pow(10.0, *ceiling_db / 20.0));
    }
    std::vector<float> scaled;
    std::vector<float> limited;
    PcmSink sink = [&](const float* samples, int frames,
                       const PcmFormat&) -> std::expected<void, Error> {
        scaled.resize(static_cast<std::size_t>(frames));
        std::transform(samples, samples + frames, scaled.begin(),
                       [gain](float s) { return s * gain; });
        if (!limiter) {
            return writeClamped(writer, scaled);
        }
        limited.clear();
        limiter->process(scaled.data(), frames, limited);
        return writeClamped(writer, limited);
    };
    if (auto decoded = decode_pcm(in, sink, kRate, 1, progress); !decoded) {
        return std::unexpected(decoded.error());
    }
    if (limiter) {
        limited.clear();
        limiter->finish(limited);
        if (auto ok = writeClamped(writer, limited); !ok) {
            return std::unexpected(ok.error());
        }
    }
    if (auto ok = writer.finish(); !ok) {
        return std::unexpected(ok.error());
    }
    return limiter ? limiter->deepest_reduction_db() : 0.0;
}

// What one decoding of the input learns: the probe's verdict and every figure the encoding needs.
struct Analysis {
    AudioInfo info;
    Loudness before;  // as it is
    Loudness signal;  // the mono 48 kHz signal the encoder gets, with its sample peak
    double noise_share = 0;
};

std::expected<Analysis, Error> analyse(const fs::path& in, const OpusSettings& settings,
                                       const Progress& progress) {
    // Only the signal's peaks matter, and only to tell whether the limiter is needed from the
    // start: its sample peak does (the true peak, 4x oversampled, would cost as much again); the
    // encoded result's true peak is measured, and corrected, anyway.
    LoudnessMeter before(LoudnessMeter::Peak::none);
    LoudnessMeter signal(LoudnessMeter::Peak::sample);
    PcmConverter as_is(in);
    PcmConverter mono(in);
    std::unique_ptr<NoiseMeter> noise;
    const PcmSink to_before = [&](const float* samples, int frames, const PcmFormat& format) {
        return before.add(samples, frames, format, in);
    };
    const PcmSink to_signal = [&](const float* samples, int frames, const PcmFormat& format) {
        noise->add(samples, frames);
        return signal.add(samples, frames, format, in);
    };
    const FrameTap tap = [&](const AVCodecContext& codec,
                             const AVFrame* frame) -> std::expected<void, Error> {
        if (!as_is.ready()) {
            if (auto ok = as_is.setup(codec, 0, 0); !ok) {
                return std::unexpected(ok.error());
            }
            if (auto ok = mono.setup(codec, kRate, 1); !ok) {
                return std::unexpected(ok.error());
            }
            // Noise is judged within the band the recording has: 8 kHz phone audio has nothing
            // above 4 kHz, which would make its hiss look tonal.
            noise = std::make_unique<NoiseMeter>(
                kRate, std::min(kNoiseTopHz, kNyquistShare * codec.sample_rate));
        }
        if (auto ok = as_is.push(frame, to_before); !ok) {
            return ok;
        }
        return mono.push(frame, to_signal);
    };
    auto info = probeAudio(in, settings.max_duration_us, progress, tap);
    if (!info) {
        return std::unexpected(info.error());
    }
    return Analysis{std::move(*info), before.result(), signal.result(),
                    noise ? noise->noise_share() : 0.0};
}

// Refusals of what analysis found: video, a click, silence.
std::expected<void, Error> refuseUnfit(const fs::path& in, const Analysis& a,
                                       const OpusSettings& settings) {
    if (a.info.has_video) {
        return fail(Error::Code::unsupported, in,
                    fmt::format("có hình (video {0}); loa phát thanh chỉ cần âm thanh: nhập video "
                                "cho bảng điện tử (--for panel), hoặc tách riêng tiếng của nó / "
                                "has a video stream ({0}); loudspeakers need audio only: import "
                                "video for panel boards (--for panel), or its sound track as "
                                "audio",
                                codecName(a.info.video_codec)));
    }
    const double length_s = static_cast<double>(a.info.duration_us) / 1e6;
    if (length_s < kShortestAudioSeconds) {
        return fail(Error::Code::too_short, in,
                    fmt::format("quá ngắn: dài {0:.3f} s, một mục phải dài ít nhất {1} s / too "
                                "short: it lasts {0:.3f} s, and an item lasts at least {1} s",
                                length_s, kShortestAudioSeconds));
    }
    if (!std::isfinite(a.signal.integrated_lufs) || !std::isfinite(a.before.integrated_lufs)) {
        return fail(Error::Code::empty, in,
                    "im lặng: không có gì đủ to để đo, nên không có mức nào để chuẩn hoá độ to / "
                    "silence: nothing loud enough to measure, so there is no gain to normalise "
                    "it to broadcast loudness");
    }
    if (a.before.integrated_lufs < settings.silence_floor_lufs) {
        return fail(Error::Code::empty, in,
                    fmt::format("im lặng: độ to {0:.1f} LUFS, dưới ngưỡng {1:.1f} LUFS mà dưới đó "
                                "âm thanh bị coi là im lặng hay tiếng ồn / silence: its loudness "
                                "is {0:.1f} LUFS, below the floor of {1:.1f} LUFS under which "
                                "audio is taken for silence or noise",
                                a.before.integrated_lufs, settings.silence_floor_lufs));
    }
    return {};
}

std::vector<std::string> warningsFor(const Transcoded& t, const OpusSettings& settings) {
    std::vector<std::string> warnings = t.source.warnings;
    if (t.noise_share >= kNoisyShare) {
        warnings.push_back(fmt::format(
            "phần lớn là tiếng ồn ({0:.0f}% năng lượng là tiếng xì, rè hay ù), đã được nâng "
            "{1:+.1f} dB: người thẩm định nên nghe trước khi duyệt / mostly noise ({0:.0f}% of "
            "its energy is hiss, hum or rumble), lifted by {1:+.1f} dB: the approver should "
            "listen before approving",
            100.0 * t.noise_share, t.gain_db));
    } else if (t.gain_db >= kLiftWarnDb) {
        warnings.push_back(fmt::format(
            "bản ghi rất nhỏ, đã được nâng {0:+.1f} dB: tiếng ồn nền cũng được nâng theo / a "
            "very quiet recording, lifted by {0:+.1f} dB: its background noise is lifted with it",
            t.gain_db));
    }
    if (t.limited_db >= kHeavyLimitingDb) {
        warnings.push_back(fmt::format(
            "các đỉnh bị nén tới {0:.1f} dB để đạt độ to mà không vượt {1:.1f} dBTP / peaks were "
            "limited by up to {0:.1f} dB to reach the loudness without passing {1:.1f} dBTP",
            t.limited_db, settings.max_true_peak_dbtp));
    }
    const double off = t.after.integrated_lufs - settings.target_lufs;
    if (std::fabs(off) > kAcceptLu) {
        warnings.push_back(fmt::format(
            "độ to sau chuẩn hoá là {0:.1f} LUFS, lệch {1:+.1f} LU so với mục tiêu {2:.1f} LUFS / "
            "the loudness after normalising is {0:.1f} LUFS, {1:+.1f} LU from the target of "
            "{2:.1f} LUFS",
            t.after.integrated_lufs, off, settings.target_lufs));
    }
    if (t.after.true_peak_dbtp > settings.max_true_peak_dbtp + kPeakSlackDb) {
        warnings.push_back(fmt::format(
            "đỉnh thật sau chuẩn hoá là {0:.1f} dBTP, trên giới hạn {1:.1f} dBTP / the true peak "
            "after normalising is {0:.1f} dBTP, over the limit of {1:.1f} dBTP",
            t.after.true_peak_dbtp, settings.max_true_peak_dbtp));
    }
    return warnings;
}

}  // namespace

std::expected<Transcoded, Error> normalise_to_opus(const fs::path& in, const fs::path& out,
                                                   const OpusSettings& settings,
                                                   const Progress& progress) {
    quietFfmpeg();
    using Clock = std::chrono::steady_clock;
    auto since = [](Clock::time_point t) {
        return std::chrono::duration<double>(Clock::now() - t).count();
    };
    const auto started = Clock::now();
    auto analysed = analyse(in, settings, progress_span(progress, 0.0, kAnalysed));
    if (!analysed) {
        return std::unexpected(analysed.error());
    }
    if (auto fit = refuseUnfit(in, *analysed, settings); !fit) {
        return std::unexpected(fit.error());
    }
    fs::path part_path = out;
    part_path += ".part";
    PartFile part(part_path);
    Transcoded result;
    result.analyse_s = since(started);
    result.source = std::move(analysed->info);
    result.before = analysed->before;
    result.noise_share = analysed->noise_share;
    result.gain_db = settings.target_lufs - analysed->signal.integrated_lufs;
    const double ceiling_start = settings.max_true_peak_dbtp - kLimiterMarginDb;
    std::optional<double> ceiling;
    // Peaks the gain would put over the limit are limited, not paid for with loudness.
    if (analysed->signal.true_peak_dbtp + result.gain_db > ceiling_start) {
        ceiling = ceiling_start;
    }
    for (int attempt = 1;; ++attempt) {
        const bool first = attempt == 1;
        const auto encoding = Clock::now();
        auto limited = encode(in, part.path(), result.gain_db, ceiling, settings.bitrate_bps,
                              first ? progress_span(progress, kAnalysed, kEncoded) : nullptr);
        if (!limited) {
            return std::unexpected(limited.error());
        }
        result.encode_s += since(encoding);
        const auto measuring = Clock::now();
        auto after = measure_loudness(
            part.path(), 0, 0, first ? progress_span(progress, kEncoded, kMeasured) : nullptr);
        if (!after) {
            return std::unexpected(after.error());
        }
        result.measure_s += since(measuring);
        result.after = *after;
        result.limited_db = *limited;
        result.encodes = attempt;
        const double error_lu = settings.target_lufs - after->integrated_lufs;
        // Aimed a little under the limit: another meter's true peak may read a tenth higher.
        const double overshoot =
            after->true_peak_dbtp - (settings.max_true_peak_dbtp - kPeakAimMarginDb);
        if ((std::fabs(error_lu) <= settings.tolerance_lu && overshoot <= 0.0) ||
            attempt == kMaxEncodes || !std::isfinite(error_lu)) {
            break;
        }
        result.gain_db += error_lu;
        if (overshoot > 0.0) {
            ceiling = ceiling ? *ceiling - overshoot - kRetryMarginDb : ceiling_start;
        } else if (!ceiling && analysed->signal.true_peak_dbtp + result.gain_db > ceiling_start) {
            ceiling = ceiling_start;
        }
    }
    result.warnings = warningsFor(result, settings);
    std::error_code ec;
    fs::rename(part.path(), out, ec);
    if (ec) {
        return fail(Error::Code::io, out,
                    fmt::format("không đưa được tệp đã xong vào chỗ ({0}) / cannot move the "
                                "finished file into place ({0})",
                                ec.message()));
    }
    if (progress) {
        progress(1.0);
    }
    return result;
}

}  // namespace loa::media
