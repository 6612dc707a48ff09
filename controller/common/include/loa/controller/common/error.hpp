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
        /// the rules do not allow it: who asks (role, area scope, token) or media not approved
        /// for air; nothing was changed
        forbidden,
    };
    Code code;
    std::string message;  ///< what, where and why
};

template <typename T>
using Result = std::expected<T, Error>;

inline std::unexpected<Error> fail(Error::Code code, std::string message) {
    return std::unexpected(Error{code, std::move(message)});
}

}  // namespace loa::controller
