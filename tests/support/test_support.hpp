// Helpers shared by loa's tests: scratch directories, generated fixtures, child processes.
#pragma once

#include <chrono>
#include <filesystem>
#include <functional>
#include <string>
#include <vector>

#include <sys/types.h>

namespace loa::test {

/// A fresh directory under $LOA_TEST_TMP (or the system temp dir), removed on destruction.
class TempDir {
  public:
    TempDir();
    ~TempDir();
    TempDir(const TempDir&) = delete;
    TempDir& operator=(const TempDir&) = delete;
    const std::filesystem::path& path() const { return path_; }
    std::filesystem::path operator/(const std::string& name) const { return path_ / name; }

  private:
    std::filesystem::path path_;
};

/// Runs a shell command; returns its exit status (throws if it could not be started).
int run_shell(const std::string& command);

/// Runs a shell command and returns what it printed on stdout; sets `status` if given.
std::string capture_shell(const std::string& command, int* status = nullptr);

/// Writes a sine tone of `seconds` as mono 16-bit WAV at `rate` Hz using ffmpeg.
void make_tone(const std::filesystem::path& out, double seconds, int rate = 22050,
               double frequency = 440.0);

/// Writes a file with the given bytes.
void write_file(const std::filesystem::path& file, const std::string& bytes);
std::string read_file(const std::filesystem::path& file);

/// Polls `condition` every 50 ms until it holds or `timeout` passes; returns its last value.
bool wait_until(const std::function<bool()>& condition, std::chrono::milliseconds timeout);

/// A free TCP port on 127.0.0.1 (bound and released).
int free_tcp_port();

/// A child process started with argv; killed (SIGKILL) on destruction if still running.
class Process {
  public:
    Process(std::vector<std::string> argv, const std::filesystem::path& log_file);
    ~Process();
    Process(const Process&) = delete;
    Process& operator=(const Process&) = delete;

    pid_t pid() const { return pid_; }
    bool running();
    void kill_hard();  ///< SIGKILL, then reap
    /// SIGTERM, then wait up to `timeout` for exit; returns the exit status (-1 if killed).
    int terminate(std::chrono::milliseconds timeout = std::chrono::seconds(10));

  private:
    pid_t pid_ = -1;
    int status_ = 0;
    bool reaped_ = false;
};

}  // namespace loa::test
