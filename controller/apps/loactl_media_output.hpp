// How loactl prints an imported bulletin, shared by every command that imports one.
#pragma once

#include "loa/controller/media_library.hpp"

namespace loa::loactl {

/// One line for operators, or with `json` one JSON object (media_hash, title, codec,
/// duration_seconds, original_hash, loudness before/after, true peak, kind, width, height,
/// already_present).
void print_imported(const controller::ImportResult& imported, bool json);

}  // namespace loa::loactl
