// How loactl sends a file to be imported: the upload, and the controller's stages after it, drawn
// as a progress bar on a terminal; and how it prints what the controller answered.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "loactl_api.hpp"

namespace loa::loactl {

/// Sends `call`, a POST to /api/v1/media whose body is a file's bytes. When stderr is a terminal
/// it draws a bar there labelled `label`: the bytes sent, then the stages of the import as the
/// controller reports them (?progress=, GET /api/v1/media/uploads/{id}); the bar is wiped before
/// this returns. Into a pipe or a log it draws nothing. Empty as send() is.
std::optional<ApiAnswer> send_upload(ApiCall call, const std::string& label);

/// Prints an answer as run() does: the body on stdout, a refusal as "loactl: …" on stderr.
/// Returns the exit code: 0 done, 1 refused or unreachable.

/// `text` as one segment of a URL path: every byte but letters, digits and "-._~" as %XX.
std::string path_segment(std::string_view text);

}  // namespace loa::loactl
