#include "support/tool_command.h"

#include <sys/wait.h>

#include <cstdlib>
#include <fstream>
#include <iterator>
#include <random>

namespace fs = std::filesystem;

namespace qrt::test {
namespace {

std::string shell_quote(const std::string& s) {
  std::string out = "'";
  for (char c : s) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

}  // namespace

TempDir::TempDir(const std::string& prefix) {
  std::random_device rd;
  path = fs::temp_directory_path() / (prefix + std::to_string(rd()));
  fs::create_directories(path);
}

TempDir::~TempDir() {
  std::error_code ec;
  fs::remove_all(path, ec);
}

std::string slurp_text(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

std::vector<uint8_t> slurp_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::vector<uint8_t>(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

ToolResult run_tool(const std::vector<std::string>& command, const std::vector<std::string>& args,
                    const TempDir& dir) {
  std::string line;
  for (const std::string& word : command) line += shell_quote(word) + " ";
  for (const std::string& a : args) line += shell_quote(a) + " ";
  const std::string out = dir.file("stdout.txt"), err = dir.file("stderr.txt");
  line += ">" + shell_quote(out) + " 2>" + shell_quote(err);
  const int status = std::system(line.c_str());
  ToolResult r;
  r.code = status != -1 && WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  r.out = slurp_text(out);
  r.err = slurp_text(err);
  return r;
}

}  // namespace qrt::test
