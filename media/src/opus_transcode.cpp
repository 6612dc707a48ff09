// Normalising audio to EBU R128 and encoding it as mono 48 kHz Ogg/Opus with libavcodec's libopus.
#include "loa/media/opus_transcode.hpp"

#include "ffmpeg_handles.hpp"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <memory>
#include <mutex>
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
// Lossy coding moves peaks: when the encoded file overshoots the limit, the gain is lowered by the
// overshoot and the file encoded again, at most this many times in all.
constexpr int kAttempts = 3;
constexpr double kRetryMarginDb = 0.1;
// Shares of normalise_to_opus's progress: probe, measure the input twice, encode, measure the
// output (a small file). Further attempts report nothing more.
constexpr double kProbed = 0.2;
constexpr double kMeasured = 0.4;
constexpr double kSignalMeasured = 0.6;
constexpr double kEncoded = 0.9;

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
        return fail(Error::Code::io, file_, fmt::format("{} ({})", what, avError(rc)));
    }

    std::expected<void, Error> openEncoder(int bitrate_bps) {
        const AVCodec* encoder = avcodec_find_encoder_by_name("libopus");
        if (encoder == nullptr) {
            return fail(Error::Code::io, file_, "this FFmpeg has no libopus encoder");
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

// Decodes `in` to mono 48 kHz, applies `gain_db` (clamped to full scale) and encodes to `part`.
std::expected<void, Error> encode(const fs::path& in, const fs::path& part, double gain_db,
                                  int bitrate_bps, const Progress& progress) {
    OpusWriter writer(part);
    if (auto ok = writer.open(bitrate_bps); !ok) {
        return ok;
    }
    const auto gain = static_cast<float>(std::pow(10.0, gain_db / 20.0));
    std::vector<float> scaled;
    PcmSink sink = [&](const float* samples, int frames,
                       const PcmFormat&) -> std::expected<void, Error> {
        scaled.resize(static_cast<std::size_t>(frames));
        std::transform(samples, samples + frames, scaled.begin(),
                       [gain](float s) { return std::clamp(s * gain, -1.0f, 1.0f); });
        return writer.write(scaled.data(), frames);
    };
    if (auto decoded = decode_pcm(in, sink, kRate, 1, progress); !decoded) {
        return std::unexpected(decoded.error());
    }
    return writer.finish();
}

// The gain to the target loudness, lowered so the true peak stays within the limit.
double chooseGain(const Loudness& signal, const OpusSettings& settings) {
    double gain = settings.target_lufs - signal.integrated_lufs;
    return std::min(gain, settings.max_true_peak_dbtp - signal.true_peak_dbtp);
}

}  // namespace

std::expected<Transcoded, Error> normalise_to_opus(const fs::path& in, const fs::path& out,
                                                   const OpusSettings& settings,
                                                   const Progress& progress) {
    quietFfmpeg();
    // The probe refuses truncated and corrupt input with the same verdicts as the upload checks.
    if (auto probed = probe_audio(in, progress_span(progress, 0.0, kProbed)); !probed) {
        return std::unexpected(probed.error());
    }
    auto before = measure_loudness(in, 0, 0, progress_span(progress, kProbed, kMeasured));
    if (!before) {
        return std::unexpected(before.error());
    }
    // What the encoder will be given.
    auto signal =
        measure_loudness(in, kRate, 1, progress_span(progress, kMeasured, kSignalMeasured));
    if (!signal) {
        return std::unexpected(signal.error());
    }
    if (!std::isfinite(signal->integrated_lufs) || !std::isfinite(before->integrated_lufs)) {
        return fail(Error::Code::empty, in,
                    "silence: nothing loud enough to measure, so there is no gain to normalise "
                    "it to broadcast loudness");
    }
    if (before->integrated_lufs < settings.silence_floor_lufs) {
        return fail(Error::Code::empty, in,
                    fmt::format("silence: its loudness is {:.1f} LUFS, below the floor of {:.1f} "
                                "LUFS under which audio is taken for silence or noise",
                                before->integrated_lufs, settings.silence_floor_lufs));
    }
    fs::path part_path = out;
    part_path += ".part";
    PartFile part(part_path);
    Transcoded result{*before, {}, chooseGain(*signal, settings)};
    for (int attempt = 1;; ++attempt) {
        const bool first = attempt == 1;
        if (auto ok = encode(in, part.path(), result.gain_db, settings.bitrate_bps,
                             first ? progress_span(progress, kSignalMeasured, kEncoded) : nullptr);
            !ok) {
            return std::unexpected(ok.error());
        }
        auto after = measure_loudness(part.path(), 0, 0,
                                      first ? progress_span(progress, kEncoded, 1.0) : nullptr);
        if (!after) {
            return std::unexpected(after.error());
        }
        result.after = *after;
        double overshoot = after->true_peak_dbtp - settings.max_true_peak_dbtp;
        if (overshoot <= 0.0 || attempt == kAttempts) {
            break;
        }
        result.gain_db -= overshoot + kRetryMarginDb;
    }
    std::error_code ec;
    fs::rename(part.path(), out, ec);
    if (ec) {
        return fail(Error::Code::io, out,
                    "cannot move the finished file into place: " + ec.message());
    }
    return result;
}

}  // namespace loa::media
