// Runs the speech command with posix_spawnp (argv, never a shell), gives it the text on stdin,
// keeps the tail of its stderr for error messages, kills it on timeout and checks its output.
#include "loa/media/speech_synthesis.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <cerrno>
#include <cstdint>
#include <cstring>
#include <utility>

#include <fmt/core.h>

extern char** environ;

namespace loa::media {

namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

constexpr std::size_t kOutputKept = 8192;  // bytes of the command's stderr kept while it runs
constexpr std::size_t kOutputShown = 400;  // bytes of it quoted in an error message
constexpr int kPollMs = 50;                // how often a running command is checked on

std::unexpected<Error> fail(Error::Code code, std::string message) {
    return std::unexpected(Error{code, std::move(message)});
}

std::string errno_text(int error) {
    return std::strerror(error);
}

// A file descriptor closed on destruction.
class Fd {
  public:
    explicit Fd(int fd = -1) : fd_(fd) {}
    ~Fd() { reset(); }
    Fd(const Fd&) = delete;
    Fd& operator=(const Fd&) = delete;
    int get() const { return fd_; }
    bool open() const { return fd_ >= 0; }
    void reset() {
        if (fd_ >= 0) {
            ::close(fd_);
        }
        fd_ = -1;
    }

  private:
    int fd_;
};

// The command's output file while it is written: removed on every way out but the rename.
class PartFile {
  public:
    explicit PartFile(fs::path path) : path_(std::move(path)) { discard(); }
    ~PartFile() { discard(); }
    PartFile(const PartFile&) = delete;
    PartFile& operator=(const PartFile&) = delete;
    const fs::path& path() const { return path_; }

  private:
    void discard() const {
        std::error_code ec;
        fs::remove(path_, ec);
    }
    fs::path path_;
};

// "bulletin.wav" -> "bulletin.part.wav": tools such as pico2wave pick the format by extension.
fs::path part_path_for(const fs::path& out) {
    fs::path part = out;
    part.replace_filename(out.stem().string() + ".part" + out.extension().string());
    return part;
}

bool is_blank(std::string_view text) {
    return std::all_of(text.begin(), text.end(), [](unsigned char c) { return std::isspace(c); });
}

bool is_voice_name(std::string_view lang) {
    if (lang.empty() || lang.size() > 64 || !std::isalnum(static_cast<unsigned char>(lang[0]))) {
        return false;
    }
    return std::all_of(lang.begin(), lang.end(), [](unsigned char c) {
        return std::isalnum(c) || c == '.' || c == '_' || c == '+' || c == '-';
    });
}

// One argument of the template with {lang}, {out} and {text} replaced in a single pass, so that
// text containing "{out}" stays text.
struct Expansion {
    std::string_view lang;
    std::string out;
    std::string_view text;
    bool uses_out = false;
    bool uses_text = false;

    std::string operator()(std::string_view arg) {
        static constexpr std::array<std::string_view, 3> kNames = {"{lang}", "{out}", "{text}"};
        std::string result;
        while (!arg.empty()) {
            auto name = std::find_if(kNames.begin(), kNames.end(),
                                     [&](std::string_view n) { return arg.starts_with(n); });
            if (name == kNames.end()) {
                result += arg.front();
                arg.remove_prefix(1);
                continue;
            }
            if (*name == "{lang}") {
                result += lang;
            } else if (*name == "{out}") {
                result += out;
                uses_out = true;
            } else {
                result += text;
                uses_text = true;
            }
            arg.remove_prefix(name->size());
        }
        return result;
    }
};

// The last bytes the command printed, on one line, cut at a UTF-8 character boundary, in
// parentheses: its own words, quoted last after a refusal in both languages.
std::string tail_of(std::string output) {
    while (!output.empty() && std::isspace(static_cast<unsigned char>(output.back()))) {
        output.pop_back();
    }
    if (output.empty()) {
        return "(nó không in gì ra stderr / it printed nothing on stderr)";
    }
    std::size_t start = output.size() > kOutputShown ? output.size() - kOutputShown : 0;
    while (start < output.size() && (static_cast<unsigned char>(output[start]) & 0xC0) == 0x80) {
        ++start;
    }
    std::string tail = start > 0 ? "(…" : "(";
    for (char c : std::string_view(output).substr(start)) {
        if (c == '\n') {
            tail += " / ";
        } else if (c != '\r') {
            tail += c;
        }
    }
    return tail + ")";
}

// The text as a file descriptor to read it from: a memfd, so that no pipe can fill up or break.
std::expected<int, Error> text_input(std::string_view text) {
    int fd = ::memfd_create("loa-speech-text", MFD_CLOEXEC);
    if (fd < 0) {
        return fail(Error::Code::io,
                    fmt::format("không giữ được văn bản cho lệnh đọc ({0}) / "
                                "cannot hold the text for the speech command ({0})",
                                errno_text(errno)));
    }
    while (!text.empty()) {
        ssize_t n = ::write(fd, text.data(), text.size());
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n <= 0) {
            int error = errno;
            ::close(fd);
            return fail(Error::Code::io,
                        fmt::format("không giữ được văn bản cho lệnh đọc ({0}) / cannot hold the "
                                    "text for the speech command ({0})",
                                    errno_text(error)));
        }
        text.remove_prefix(static_cast<std::size_t>(n));
    }
    ::lseek(fd, 0, SEEK_SET);
    return fd;
}

// Nothing to read: stdin when the text is passed as an argument.
std::expected<int, Error> no_input() {
    int fd = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        return fail(Error::Code::io,
                    fmt::format("không mở được /dev/null ({0}) / cannot open /dev/null ({0})",
                                errno_text(errno)));
    }
    return fd;
}

struct Finished {
    int status = 0;          // as waitpid reports it
    bool timed_out = false;  // killed by us
    std::string output;      // the tail of stderr (and of stdout when it is not the WAV)
};

// Owns posix_spawn's attribute and file-action objects.
struct SpawnSetup {
    posix_spawn_file_actions_t actions;
    posix_spawnattr_t attr;
    SpawnSetup() {
        posix_spawn_file_actions_init(&actions);
        posix_spawnattr_init(&attr);
    }
    ~SpawnSetup() {
        posix_spawn_file_actions_destroy(&actions);
        posix_spawnattr_destroy(&attr);
    }
    SpawnSetup(const SpawnSetup&) = delete;
    SpawnSetup& operator=(const SpawnSetup&) = delete;
};

// Appends what is readable on `fd` to `output`, keeping its last kOutputKept bytes; closes `fd`
// at end of file.
void read_available(Fd& fd, std::string& output) {
    std::array<char, 4096> buffer{};
    while (fd.open()) {
        ssize_t n = ::read(fd.get(), buffer.data(), buffer.size());
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n < 0) {
            return;  // EAGAIN: nothing more for now
        }
        if (n == 0) {
            fd.reset();
            return;
        }
        output.append(buffer.data(), static_cast<std::size_t>(n));
        if (output.size() > kOutputKept) {
            output.erase(0, output.size() - kOutputKept);
        }
    }
}

void wait_for(pid_t pid, int& status) {
    while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
}

// Starts `argv` in its own process group with `stdin_fd` as stdin and stdout sent to
// `stdout_file` (when not empty) or with stderr; waits for it, killing the group at `timeout`.
std::expected<Finished, Error> run(const std::vector<std::string>& argv, int stdin_fd,
                                   const fs::path& stdout_file, std::chrono::milliseconds timeout) {
    std::array<int, 2> fds{};
    if (::pipe2(fds.data(), O_CLOEXEC) != 0) {
        return fail(Error::Code::io, fmt::format("không khởi động được lệnh đọc ({0}) / cannot "
                                                 "start the speech command ({0})",
                                                 errno_text(errno)));
    }
    Fd from_child(fds[0]);
    Fd child_stderr(fds[1]);
    ::fcntl(from_child.get(), F_SETFL, O_NONBLOCK);

    SpawnSetup setup;
    posix_spawn_file_actions_adddup2(&setup.actions, stdin_fd, STDIN_FILENO);
    if (stdout_file.empty()) {
        posix_spawn_file_actions_adddup2(&setup.actions, child_stderr.get(), STDOUT_FILENO);
    } else {
        posix_spawn_file_actions_addopen(&setup.actions, STDOUT_FILENO, stdout_file.c_str(),
                                         O_WRONLY | O_CREAT | O_TRUNC, 0644);
    }
    posix_spawn_file_actions_adddup2(&setup.actions, child_stderr.get(), STDERR_FILENO);
    // Its own process group, so that a timeout also kills what a wrapper script started; the
    // signals our process blocks or ignores are not passed on.
    sigset_t mask;
    sigemptyset(&mask);
    posix_spawnattr_setsigmask(&setup.attr, &mask);
    sigset_t defaults;
    sigemptyset(&defaults);
    for (int sig : {SIGPIPE, SIGINT, SIGTERM, SIGHUP, SIGCHLD}) {
        sigaddset(&defaults, sig);
    }
    posix_spawnattr_setsigdefault(&setup.attr, &defaults);
    posix_spawnattr_setpgroup(&setup.attr, 0);
    posix_spawnattr_setflags(
        &setup.attr, POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);

    std::vector<char*> args;
    for (const auto& a : argv) {
        args.push_back(const_cast<char*>(a.c_str()));
    }
    args.push_back(nullptr);
    pid_t pid = -1;
    int rc = ::posix_spawnp(&pid, args[0], &setup.actions, &setup.attr, args.data(), environ);
    if (rc == ENOENT) {
        const bool on_path = argv[0].find('/') == std::string::npos;
        return fail(
            Error::Code::io,
            fmt::format("không tìm thấy lệnh đọc '{0}': {1} / speech command '{0}' not "
                        "found: {2}",
                        argv[0],
                        on_path ? "không có chương trình này trong PATH (đã cài chưa?)"
                                : "không có tệp này",
                        on_path ? "no such program on PATH (is it installed?)" : "no such file"));
    }
    if (rc != 0) {
        return fail(Error::Code::io, fmt::format("không khởi động được lệnh đọc '{0}' ({1}) / "
                                                 "speech command '{0}' cannot be started ({1})",
                                                 argv[0], errno_text(rc)));
    }
    child_stderr.reset();  // the child holds it now; EOF comes when it (and its children) close it

    Finished finished;
    const auto deadline = Clock::now() + timeout;
    while (true) {
        pid_t reaped = ::waitpid(pid, &finished.status, WNOHANG);
        if (reaped == pid || (reaped < 0 && errno != EINTR)) {
            break;
        }
        auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
        if (left.count() <= 0) {
            ::kill(-pid, SIGKILL);
            wait_for(pid, finished.status);
            finished.timed_out = true;
            break;
        }
        int wait_ms = static_cast<int>(std::min<std::int64_t>(left.count(), kPollMs));
        if (!from_child.open()) {
            ::poll(nullptr, 0, wait_ms);
            continue;
        }
        pollfd p{from_child.get(), POLLIN, 0};
        if (::poll(&p, 1, wait_ms) > 0) {
            read_available(from_child, finished.output);
        }
    }
    read_available(from_child, finished.output);
    return finished;
}

// Flushes the command's output to disk before it is renamed into place.
void sync_file(const fs::path& file) {
    Fd fd(::open(file.c_str(), O_RDONLY | O_CLOEXEC));
    if (fd.open()) {
        ::fsync(fd.get());
    }
}

}  // namespace

std::expected<std::vector<std::string>, Error> split_command_line(std::string_view line) {
    std::vector<std::string> words;
    std::string word;
    bool in_word = false;
    char quote = 0;
    for (std::size_t i = 0; i < line.size(); ++i) {
        char c = line[i];
        if (quote == '\'') {
            if (c == '\'') {
                quote = 0;
            } else {
                word += c;
            }
        } else if (c == '\\' && i + 1 < line.size()) {
            word += line[++i];
            in_word = true;
        } else if (quote == '"') {
            if (c == '"') {
                quote = 0;
            } else {
                word += c;
            }
        } else if (c == '\'' || c == '"') {
            quote = c;
            in_word = true;
        } else if (c == ' ' || c == '\t' || c == '\n') {
            if (in_word) {
                words.push_back(std::move(word));
                word.clear();
                in_word = false;
            }
        } else {
            word += c;
            in_word = true;
        }
    }
    if (quote != 0) {
        const bool double_quote = quote == '"';
        return fail(
            Error::Code::io,
            fmt::format("dòng lệnh `{0}` có dấu nháy {1} chưa đóng / command line `{0}` "
                        "has an unterminated {2} quote",
                        line, double_quote ? "kép" : "đơn", double_quote ? "double" : "single"));
    }
    if (in_word) {
        words.push_back(std::move(word));
    }
    if (words.empty() || words.front().empty()) {
        return fail(Error::Code::io, "dòng lệnh đọc trống / the speech command line is empty");
    }
    return words;
}

std::expected<AudioInfo, Error> synthesize_speech(std::string_view text,
                                                  const SpeechOptions& options,
                                                  const fs::path& out_wav) {
    if (options.command.empty() || options.command.front().empty()) {
        return fail(Error::Code::io, "chưa có lệnh đọc nào / no speech command given");
    }
    const std::string& program = options.command.front();
    if (is_blank(text)) {
        return fail(Error::Code::empty,
                    fmt::format("không có gì để đọc: văn bản cho '{0}' trống / nothing to say: the "
                                "text for '{0}' is empty",
                                program));
    }
    if (text.size() > kMaxSpeechTextBytes) {
        return fail(Error::Code::io,
                    fmt::format("văn bản cho '{0}' dài {1} byte, quá giới hạn {2} byte / the text "
                                "for '{0}' is {1} bytes, over the limit of {2} bytes",
                                program, text.size(), kMaxSpeechTextBytes));
    }
    if (!is_voice_name(options.lang)) {
        return fail(Error::Code::io,
                    fmt::format("'{0}' không phải tên ngôn ngữ giọng đọc (chữ cái, chữ số và "
                                ". _ + -, ví dụ vi) / '{0}' is not a voice language (letters, "
                                "digits and . _ + -, e.g. vi)",
                                options.lang));
    }
    if (options.timeout.count() <= 0) {
        return fail(Error::Code::io,
                    "thời gian chờ tối đa của lệnh đọc phải lớn hơn 0 / the speech "
                    "command's timeout must be positive");
    }

    PartFile part(part_path_for(out_wav));
    Expansion expand{options.lang, part.path().string(), text};
    std::vector<std::string> argv;
    for (const auto& arg : options.command) {
        argv.push_back(expand(arg));
    }
    if (expand.uses_text && text.find('\0') != std::string_view::npos) {
        return fail(Error::Code::io,
                    fmt::format("văn bản cho '{0}' có byte NUL, không truyền được làm tham số: bỏ "
                                "{{text}} để văn bản đi qua stdin / the text for '{0}' contains a "
                                "NUL byte, which cannot be passed as an argument: drop {{text}} "
                                "so that the text goes to stdin",
                                program));
    }
    auto input = expand.uses_text ? no_input() : text_input(text);
    if (!input) {
        return std::unexpected(input.error());
    }
    Fd stdin_fd(*input);
    auto finished =
        run(argv, stdin_fd.get(), expand.uses_out ? fs::path() : part.path(), options.timeout);
    if (!finished) {
        return std::unexpected(finished.error());
    }
    if (finished->timed_out) {
        return fail(
            Error::Code::io,
            fmt::format("lệnh đọc '{0}' chưa xong sau {1} s nên đã bị buộc dừng / speech "
                        "command '{0}' did not finish within {1} s and was killed {2}",
                        program, options.timeout.count() / 1000.0, tail_of(finished->output)));
    }
    if (WIFSIGNALED(finished->status)) {
        int sig = WTERMSIG(finished->status);
        return fail(Error::Code::io,
                    fmt::format("lệnh đọc '{0}' bị tín hiệu {1} ({2}) dừng / speech command '{0}' "
                                "was killed by signal {1} ({2}) {3}",
                                program, sig, strsignal(sig), tail_of(finished->output)));
    }
    if (!WIFEXITED(finished->status) || WEXITSTATUS(finished->status) != 0) {
        return fail(Error::Code::io,
                    fmt::format("lệnh đọc '{0}' thất bại với mã thoát {1} / speech command '{0}' "
                                "failed with exit code {1} {2}",
                                program, WEXITSTATUS(finished->status), tail_of(finished->output)));
    }

    std::error_code ec;
    if (!fs::exists(part.path(), ec)) {
        return fail(Error::Code::empty,
                    fmt::format("lệnh đọc '{0}' thoát với mã 0 nhưng không ghi tệp nào (phải ghi "
                                "{1}) / speech command '{0}' exited 0 but wrote no file (expected "
                                "{1})",
                                program, part.path().string()));
    }
    if (fs::file_size(part.path(), ec) == 0) {
        return fail(Error::Code::empty,
                    fmt::format("lệnh đọc '{0}' thoát với mã 0 nhưng ghi ra tệp rỗng / speech "
                                "command '{0}' exited 0 but wrote an empty file {1}",
                                program, tail_of(finished->output)));
    }
    auto info = probe_audio(part.path());
    if (!info) {
        // The probe's refusal is already in both languages: quoted last, as its own words.
        return fail(info.error().code,
                    fmt::format("lệnh đọc '{0}' không ghi ra âm thanh / speech command '{0}' did "
                                "not write audio ({1})",
                                program, info.error().message));
    }
    if (info->duration_us <= 0) {
        return fail(Error::Code::empty,
                    fmt::format("lệnh đọc '{0}' ghi ra âm thanh không có mẫu nào / speech command "
                                "'{0}' wrote audio without any samples",
                                program));
    }
    sync_file(part.path());
    fs::rename(part.path(), out_wav, ec);
    if (ec) {
        return fail(Error::Code::io,
                    fmt::format("không đưa được tệp giọng đọc vào chỗ {0} ({1}) / cannot move the "
                                "speech into place at {0} ({1})",
                                out_wav.string(), ec.message()));
    }
    return info;
}

}  // namespace loa::media
