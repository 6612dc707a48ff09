// loactl's way to the controller: every command is a request to the HTTP API, sent to a running
// controller (--controller URL) or, on the controller's own machine, to the same API served
// in-process over the data directory (--data).
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

namespace loa::loactl {

/// Where commands go: `controller_url` ("http://127.0.0.1:5610", "https://…") when given, else
/// an API served in this process on a loopback port over the data directory `data`. `ca_file`:
/// the CA certificate that signed an https controller's certificate ("" : the system's). `token`
/// is presented with every request (--token, LOA_TOKEN).
void use_api(std::string controller_url, std::string data, std::string ca_file, std::string token);

/// One request to the API.
struct ApiCall {
    std::string method = "GET";
    std::string path;                               ///< "/api/v1/nodes"
    std::multimap<std::string, std::string> query;  ///< ?area=…&format=table
    std::string body;                               ///< JSON, or a few bytes
    /// Uploads: the body is this file, read and sent a piece at a time (memory stays flat
    /// whatever its size); `body` is then ignored.
    std::filesystem::path body_file;
    std::string content_type = "application/json";
    /// Uploads: told bytes sent so far and the total (media import prints progress).
    std::function<void(std::uint64_t sent, std::uint64_t total)> progress;
};

struct ApiAnswer {
    int status = 0;
    std::string body;
    std::map<std::string, std::string> headers;

    bool ok() const { return status >= 200 && status < 300; }
    /// The refusal's message from a JSON error body (else the body itself).
    std::string error_message() const;
};

/// Sends `call` with the token (--token, LOA_TOKEN); empty after printing why the controller
/// could not be reached.
std::optional<ApiAnswer> send(const ApiCall& call);

/// A JSON body for `call`.
ApiCall with_json(ApiCall call, const nlohmann::json& body);

/// What most commands do: ask for JSON with `json`, else the table in `lang`; print the answer
/// (a refusal as "loactl: <message>" on stderr) and return the exit code: 0 when done, 1 when
/// refused or unreachable.
int run(ApiCall call, bool json, const std::string& lang);

/// Prints an answer as run() does (the body on stdout, a refusal on stderr); returns the exit
/// code: 0 done, 1 refused or unreachable, 4 (kExitStorageFull) refused for a full disk.
int print_answer(const std::optional<ApiAnswer>& answer);

/// loactl's exit status when the controller refused for a full disk (HTTP 507): nothing was
/// changed, and the same command works once space is freed on the controller's disk.
inline constexpr int kExitStorageFull = 4;

/// The exit status of a refusal: kExitStorageFull for 507, 1 otherwise.
int refusal_status(const ApiAnswer& answer);

/// Prints a refusal's message on stderr; returns refusal_status(answer).
int print_refusal(const ApiAnswer& answer);

}  // namespace loa::loactl
