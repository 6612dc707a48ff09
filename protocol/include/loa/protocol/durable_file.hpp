// Small files that must survive a crash or a power cut whole: the identity files of the
// controller and the nodes (controller.key, node.key, node.conf).
#pragma once

#include <expected>
#include <filesystem>
#include <string>
#include <string_view>

namespace loa::protocol {

/// Replaces `file` with `content` so that a crash, a kill -9 or a power cut at any moment leaves
/// either the old file or the new one, whole: the content goes to a temporary file next to it
/// (`<file>.tmp-<pid>-<n>`, created with `mode`), is fsynced, renamed over `file`, and the
/// directory is fsynced, all before this returns. Creates missing parent directories. The error
/// names the file and why.
std::expected<void, std::string> write_file_durably(
    const std::filesystem::path& file, std::string_view content,
    std::filesystem::perms mode = std::filesystem::perms::owner_read |
                                  std::filesystem::perms::owner_write);

/// Like write_file_durably, but never replaces an existing `file`: returns false, having written
/// nothing, when it exists (also when another process created it a moment before), true when
/// this call created it.
std::expected<bool, std::string> create_file_durably(
    const std::filesystem::path& file, std::string_view content,
    std::filesystem::perms mode = std::filesystem::perms::owner_read |
                                  std::filesystem::perms::owner_write);

/// Renames `from` over `to` (same directory) and syncs the directory: after it returns, a power
/// cut leaves `to` with `from`'s content. The error names the files and why.
std::expected<void, std::string> rename_durably(const std::filesystem::path& from,
                                                const std::filesystem::path& to);

namespace testing {
/// Test-only fault injection: the next durable write of this process stops after its temporary
/// file is written and synced and before the rename, as a crash there would, and fails.
void fail_next_durable_write_before_rename();
}  // namespace testing

}  // namespace loa::protocol
