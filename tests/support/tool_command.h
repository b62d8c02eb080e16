// Running the built command-line tools from tests: a scratch directory and
// a runner that captures exit code, stdout and stderr. Commands come from
// tests/CMakeLists.txt as lists of words (QRT_BENCH_COMMAND,
// QRT_RUN_COMMAND): the emulator (qemu-user) first in cross builds, then
// the tool's path.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

namespace qrt::test {

// A fresh directory under the system temp dir, removed with its contents.
struct TempDir {
  std::filesystem::path path;
  explicit TempDir(const std::string& prefix);
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  std::string file(const std::string& name) const { return (path / name).string(); }
};

struct ToolResult {
  int code = -1;  // exit code, -1 when the tool did not exit normally
  std::string out, err;
};

// Runs command + args through the shell (every word quoted), with stdout
// and stderr captured in files inside dir.
ToolResult run_tool(const std::vector<std::string>& command, const std::vector<std::string>& args,
                    const TempDir& dir);

// A file's bytes (empty when it cannot be read).
std::string slurp_text(const std::string& path);
std::vector<uint8_t> slurp_bytes(const std::string& path);

}  // namespace qrt::test
