// AMR-NB through Debian's libopencore-amrnb, because FFmpeg's own decoder refuses the silence
// frames (SID, NO_DATA) that call recorders write with DTX.
#pragma once

#include <memory>

#include "ffmpeg_handles.hpp"

namespace loa::media::detail {

/// Decodes AMR-NB packets in the storage format (a table-of-contents byte, then the frame's
/// bits; one or more frames per packet, as the amr and mov demuxers hand them) to 8 kHz mono
/// float frames. Speech, SID and NO_DATA frames all decode: the pauses come out as the comfort
/// noise the encoder described, as a phone would play them.
class AmrNbDecoder {
  public:
    AmrNbDecoder();
    ~AmrNbDecoder();
    AmrNbDecoder(const AmrNbDecoder&) = delete;
    AmrNbDecoder& operator=(const AmrNbDecoder&) = delete;

    /// Fills `frame` (sample format `format`, float, packed or planar: mono is both) with the
    /// packet's audio. Returns 0, or AVERROR_INVALIDDATA when the packet ends inside a frame.
    int decode(const AVPacket& packet, AVSampleFormat format, AVFrame& frame);

  private:
    struct State;
    std::unique_ptr<State> state_;
};

}  // namespace loa::media::detail
