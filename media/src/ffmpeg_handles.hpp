// FFmpeg objects owned by unique_ptr, and the few helpers every FFmpeg user in media/ needs.
#pragma once

#include <expected>
#include <filesystem>
#include <memory>
#include <string>

#include "loa/media/error.hpp"

extern "C" {
#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>
#include <libavutil/audio_fifo.h>
#include <libswresample/swresample.h>
}

namespace loa::media::detail {

struct FormatCloser {
    void operator()(AVFormatContext* ctx) const { avformat_close_input(&ctx); }
};
struct CodecFreer {
    void operator()(AVCodecContext* ctx) const { avcodec_free_context(&ctx); }
};
struct PacketFreer {
    void operator()(AVPacket* pkt) const { av_packet_free(&pkt); }
};
struct FrameFreer {
    void operator()(AVFrame* frame) const { av_frame_free(&frame); }
};
struct SwrFreer {
    void operator()(SwrContext* swr) const { swr_free(&swr); }
};
struct FifoFreer {
    void operator()(AVAudioFifo* fifo) const { av_audio_fifo_free(fifo); }
};
struct IoCloser {
    void operator()(AVIOContext* io) const { avio_closep(&io); }
};
using FormatPtr = std::unique_ptr<AVFormatContext, FormatCloser>;
using CodecPtr = std::unique_ptr<AVCodecContext, CodecFreer>;
using PacketPtr = std::unique_ptr<AVPacket, PacketFreer>;
using FramePtr = std::unique_ptr<AVFrame, FrameFreer>;
using SwrPtr = std::unique_ptr<SwrContext, SwrFreer>;
using FifoPtr = std::unique_ptr<AVAudioFifo, FifoFreer>;
using IoPtr = std::unique_ptr<AVIOContext, IoCloser>;

/// FFmpeg logs every recoverable glitch to stderr; the library reports through Error instead.
void quietFfmpeg();

/// av_err2str is a C compound-literal macro, unusable from C++.
std::string avError(int code);

/// An error about `file`: "FILE: why".
std::unexpected<Error> fail(Error::Code code, const std::filesystem::path& file,
                            const std::string& why);

}  // namespace loa::media::detail
