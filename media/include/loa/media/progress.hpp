// Progress reports of long media operations (decoding, loudness measurement, transcoding).
#pragma once

#include <algorithm>
#include <functional>

namespace loa::media {

/// Told how far an operation has got: `fraction` in [0, 1], never decreasing. An empty function
/// means nobody is listening. Called on the thread doing the work, so it should return quickly.
using Progress = std::function<void(double fraction)>;

/// A Progress for one step of a longer operation: the step's own [0, 1] becomes [from, to] of
/// `outer`. Empty when `outer` is.
inline Progress progress_span(const Progress& outer, double from, double to) {
    if (!outer) {
        return {};
    }
    return [outer, from, to](double fraction) {
        outer(from + (to - from) * std::clamp(fraction, 0.0, 1.0));
    };
}

}  // namespace loa::media
