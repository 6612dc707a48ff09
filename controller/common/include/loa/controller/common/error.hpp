// Error values of the controller library.
#pragma once

#include <expected>
#include <string>

namespace loa::controller {

struct Error {
    enum class Code {
        invalid_input,  ///< an operator's or a node's input is wrong; nothing was changed
        not_found,      ///< it names something the controller does not have
        conflict,       ///< it already exists
        media,          ///< a media file was refused (probe, store)
        storage,        ///< the database failed
        /// the controller's disk is full: nothing was stored; the same request succeeds once
        /// space is freed (HTTP 507, a node's report is not acked and is sent again)
        storage_full,
        /// the rules do not allow it: who asks (role, area scope, token) or media not approved
        /// for air; nothing was changed
        forbidden,
    };
    Code code;
    std::string message;  ///< what, where and why
};

/// What a change refused for a full disk says: `what` (e.g. "campaign.add thien-tai") was not
/// done and nothing changed, in Vietnamese then English; `what` empty: "the change".
inline std::string storage_full_message(const std::string& what = {}) {
    const std::string vi = what.empty() ? "thay đổi" : what;
    const std::string en = what.empty() ? "the change" : what;
    return "đĩa của máy điều khiển đã đầy: " + vi +
           " chưa được thực hiện, không có gì thay đổi; giải phóng chỗ trống trên đĩa rồi thử "
           "lại (xem vẫn được) / the controller's disk is full: " +
           en +
           " was not done and nothing changed; free space on its disk and try again (reading "
           "still works)";
}

template <typename T>
using Result = std::expected<T, Error>;

inline std::unexpected<Error> fail(Error::Code code, std::string message) {
    return std::unexpected(Error{code, std::move(message)});
}

}  // namespace loa::controller
