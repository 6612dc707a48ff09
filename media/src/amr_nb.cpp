// AMR-NB decoding with libopencore-amrnb, frame by frame from the storage format.
#include "amr_nb.hpp"

#include <array>
#include <cstdint>
#include <vector>

extern "C" {
#include <libavutil/channel_layout.h>
#include <opencore-amrnb/interf_dec.h>
}

namespace loa::media::detail {

namespace {

constexpr int kRate = 8000;
constexpr int kFrameSamples = 160;  // 20 ms
// Bytes after the table-of-contents byte, by frame type (RFC 4867 §5.3): the eight speech modes,
// SID (8), then types without bits (GSM-EFR/TDMA/PDC SIDs, reserved, NO_DATA).
constexpr std::array<int, 16> kFrameBytes = {12, 13, 15, 17, 19, 20, 26, 31,
                                             5,  0,  0,  0,  0,  0,  0,  0};

}  // namespace

struct AmrNbDecoder::State {
    void* decoder = Decoder_Interface_init();
    ~State() {
        if (decoder != nullptr) {
            Decoder_Interface_exit(decoder);
        }
    }
};

AmrNbDecoder::AmrNbDecoder() : state_(std::make_unique<State>()) {}

AmrNbDecoder::~AmrNbDecoder() = default;

int AmrNbDecoder::decode(const AVPacket& packet, AVSampleFormat format, AVFrame& frame) {
    if (state_->decoder == nullptr) {
        return AVERROR(ENOMEM);
    }
    // Frame boundaries first: a packet cut inside a frame decodes nothing.
    int frames = 0;
    for (int at = 0; at < packet.size;) {
        at += 1 + kFrameBytes[(packet.data[at] >> 3) & 0x0F];
        if (at > packet.size) {
            return AVERROR_INVALIDDATA;
        }
        ++frames;
    }
    frame.format = format;
    frame.sample_rate = kRate;
    frame.nb_samples = frames * kFrameSamples;
    av_channel_layout_uninit(&frame.ch_layout);
    av_channel_layout_default(&frame.ch_layout, 1);
    if (int rc = av_frame_get_buffer(&frame, 0); rc < 0) {
        return rc;
    }
    auto* out = reinterpret_cast<float*>(frame.extended_data[0]);
    std::array<short, kFrameSamples> pcm{};
    for (int at = 0; at < packet.size;) {
        const int bytes = 1 + kFrameBytes[(packet.data[at] >> 3) & 0x0F];
        Decoder_Interface_Decode(state_->decoder, packet.data + at, pcm.data(), 0);
        for (short s : pcm) {
            *out++ = static_cast<float>(s) / 32768.0f;
        }
        at += bytes;
    }
    return 0;
}

}  // namespace loa::media::detail
