// Requests from loactl to the controller's HTTP API, remote or served in-process, and how their
// answers are printed.
#include "loactl_api.hpp"

#include <csignal>
#include <fstream>
#include <iostream>
#include <memory>
#include <vector>

#include <httplib.h>
#include <spdlog/spdlog.h>

#include "loa/controller/api/http_api.hpp"

namespace loa::loactl {

namespace {

/// What an upload holds in memory at once.
constexpr std::size_t kPieceBytes = 256 * 1024;

struct Target {
    std::string url;
    std::string data = "loa-data";
    std::string ca_file;
    std::string token;
    std::unique_ptr<controller::ApiServer> local;  ///< the in-process API, once started
};

Target& target() {
    static Target t;
    return t;
}

/// The base URL requests go to; starts the in-process API the first time when no controller URL
/// was given. Empty after printing why it could not start.
std::string base_url() {
    auto& t = target();
    if (!t.url.empty()) {
        return t.url;
    }
    if (!t.local) {
        // Only loactl's own requests reach it: loopback, a port of the kernel's choosing.
        // Its refusals come back to loactl, which prints them once, on stderr.
        spdlog::set_level(spdlog::level::off);
        controller::ApiOptions options;
        options.port = 0;
        options.data_dir = t.data;
        t.local = std::make_unique<controller::ApiServer>(options);
        if (auto started = t.local->start(); !started) {
            std::cerr << "loactl: " << started.error().message << "\n";
            t.local.reset();
            return {};
        }
    }
    return "http://127.0.0.1:" + std::to_string(t.local->port());
}

}  // namespace

void use_api(std::string controller_url, std::string data, std::string ca_file, std::string token) {
    // cpp-httplib's client writes without MSG_NOSIGNAL: a controller that closes the connection
    // during an upload (a refusal from its headers) would kill loactl before it could say why.
    std::signal(SIGPIPE, SIG_IGN);
    auto& t = target();
    t.token = std::move(token);
    t.url = std::move(controller_url);
    while (!t.url.empty() && t.url.back() == '/') {
        t.url.pop_back();
    }
    t.data = std::move(data);
    t.ca_file = std::move(ca_file);
}

std::string ApiAnswer::error_message() const {
    auto json = nlohmann::json::parse(body, nullptr, false);
    if (json.is_object() && json.contains("error") && json["error"].is_object()) {
        return json["error"].value("message", body);
    }
    return body.empty() ? "HTTP " + std::to_string(status) : body;
}

std::optional<ApiAnswer> send(const ApiCall& call) {
    const std::string base = base_url();
    if (base.empty()) {
        return std::nullopt;
    }
    httplib::Client client(base);
    client.set_connection_timeout(10, 0);
    client.set_read_timeout(600, 0);  // a long media import is normalised before it answers
    client.set_write_timeout(600, 0);
    if (!target().ca_file.empty()) {
        client.set_ca_cert_path(target().ca_file.c_str());
    }
    httplib::Headers headers;
    if (!target().token.empty()) {
        headers.emplace("Authorization", "Bearer " + target().token);
    }
    httplib::Params params(call.query.begin(), call.query.end());
    const std::string path = httplib::append_query_params(call.path, params);
    // An upload is read from its file as it is sent, one piece in memory at a time.
    std::optional<std::string> file_problem;
    auto upload = [&]() -> httplib::Result {
        std::error_code size_error;
        const std::uint64_t size = std::filesystem::file_size(call.body_file, size_error);
        std::ifstream in(call.body_file, std::ios::binary);
        if (size_error || !in) {
            file_problem = "không đọc được tệp / cannot read the file";
            return httplib::Result(std::unique_ptr<httplib::Response>(), httplib::Error::Canceled);
        }
        std::vector<char> piece(kPieceBytes);
        std::uint64_t position = 0;
        auto provide = [&](std::size_t offset, std::size_t length, httplib::DataSink& sink) {
            if (offset != position) {
                in.seekg(static_cast<std::streamoff>(offset));
                position = offset;
            }
            const std::size_t n = std::min<std::size_t>(length, piece.size());
            in.read(piece.data(), static_cast<std::streamsize>(n));
            if (static_cast<std::size_t>(in.gcount()) != n) {
                file_problem = "tệp ngắn đi trong khi gửi / the file shrank while it was sent";
                return false;
            }
            position += n;
            if (!sink.write(piece.data(), n)) {
                return true;  // not ours to cancel: httplib reports its own write error
            }
            if (call.progress) {
                call.progress(position, size);
            }
            return true;
        };
        return call.method == "PUT" ? client.Put(path, headers, size, provide, call.content_type)
                                    : client.Post(path, headers, size, provide, call.content_type);
    };
    auto request = [&]() -> httplib::Result {
        if (call.method == "GET") {
            return client.Get(path, headers);
        }
        if (call.method == "DELETE") {
            return client.Delete(path, headers);
        }
        if (!call.body_file.empty()) {
            return upload();
        }
        const std::string& body = call.body;
        auto provide = [&](std::size_t offset, std::size_t length, httplib::DataSink& sink) {
            const std::size_t n = std::min<std::size_t>(length, kPieceBytes);
            sink.write(body.data() + offset, n);
            if (call.progress) {
                call.progress(offset + n, body.size());
            }
            return true;
        };
        return call.method == "PUT"
                   ? client.Put(path, headers, body.size(), provide, call.content_type)
                   : client.Post(path, headers, body.size(), provide, call.content_type);
    };
    httplib::Result result = request();
    if (file_problem) {
        std::cerr << "loactl: " << call.body_file.string() << ": " << *file_problem << "\n";
        return std::nullopt;
    }
    if (!result && !call.body_file.empty() && result.error() == httplib::Error::Write) {
        // The controller refused the upload from its headers and stopped reading it; this client
        // reads no answer before it has written the whole body. A token refused is the usual
        // reason: ask, and show that refusal.
        ApiCall who;
        who.path = "/api/v1/whoami";
        if (auto answer = send(who); answer && !answer->ok()) {
            return answer;
        }
        std::cerr << "loactl: bộ điều khiển ngừng nhận tệp trước khi hết (bị từ chối: quá lớn, "
                     "không có quyền hoặc đĩa của nó không đủ chỗ; nhật ký của nó nói lý do) / the "
                     "controller stopped taking the upload before its end (refused: too large, "
                     "not allowed or not enough room on its disk; its log says why)\n";
        return std::nullopt;
    }
    if (!result) {
        std::cerr << "loactl: không liên lạc được với bộ điều khiển / cannot reach the controller "
                     "at "
                  << base << ": " << httplib::to_string(result.error()) << "\n";
        return std::nullopt;
    }
    ApiAnswer answer;
    answer.status = result->status;
    answer.body = result->body;
    for (const auto& [name, value] : result->headers) {
        answer.headers[name] = value;
    }
    return answer;
}

ApiCall with_json(ApiCall call, const nlohmann::json& body) {
    call.body = body.dump();
    call.content_type = "application/json";
    return call;
}

int refusal_status(const ApiAnswer& answer) {
    return answer.status == 507 ? kExitStorageFull : 1;
}

int print_refusal(const ApiAnswer& answer) {
    std::cerr << "loactl: " << answer.error_message() << "\n";
    return refusal_status(answer);
}

int run(ApiCall call, bool json, const std::string& lang) {
    if (!json) {
        call.query.emplace("format", "table");
        call.query.emplace("lang", lang.empty() ? "vi" : lang);
    }
    return print_answer(send(call));
}

int print_answer(const std::optional<ApiAnswer>& answer) {
    if (!answer) {
        return 1;
    }
    if (!answer->ok()) {
        return print_refusal(*answer);
    }
    std::cout << answer->body;
    if (!answer->body.empty() && answer->body.back() != '\n') {
        std::cout << "\n";
    }
    return 0;
}

}  // namespace loa::loactl
