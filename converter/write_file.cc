#include "write_file.h"

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

namespace qrt::convert {

std::string output_path_problem(const std::string& path) {
  if (path.empty()) return "empty output file name";
  struct stat st;
  // Never replace a device, directory or socket with a model file.
  if (stat(path.c_str(), &st) == 0 && !S_ISREG(st.st_mode))
    return path + ": exists and is not a regular file";
  const size_t slash = path.find_last_of('/');
  const std::string dir =
      slash == std::string::npos ? "." : slash == 0 ? "/" : path.substr(0, slash);
  if (stat(dir.c_str(), &st) != 0)
    return path + ": cannot write there: folder " + dir + ": " + std::strerror(errno);
  if (!S_ISDIR(st.st_mode)) return path + ": cannot write there: " + dir + " is not a folder";
  return "";
}

bool write_temp_file(const std::string& path, const void* data, size_t size, std::string* temp,
                     std::string* error) {
  const std::string problem = output_path_problem(path);
  if (!problem.empty()) {
    *error = problem;
    return false;
  }
  *temp = path + ".tmp-XXXXXX";
  int fd = mkstemp(temp->data());
  if (fd < 0) {
    *error = path + ": cannot create a file there: " + std::strerror(errno);
    temp->clear();
    return false;
  }
  const auto* p = static_cast<const uint8_t*>(data);
  size_t done = 0;
  bool ok = true;
  while (ok && done < size) {
    ssize_t w = write(fd, p + done, size - done);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) {
      // write() returns 0 only for a zero-byte request; count it as a failure
      // rather than loop forever on a device that accepts nothing.
      *error = path + ": write failed after " + std::to_string(done) + " of " +
               std::to_string(size) + " bytes: " + std::strerror(w < 0 ? errno : EIO);
      ok = false;
      break;
    }
    done += static_cast<size_t>(w);
  }
  // fsync and close report deferred write errors (disk full on NFS, quotas).
  if (ok && fsync(fd) != 0) {
    *error = path + ": write failed: " + std::strerror(errno);
    ok = false;
  }
  if (close(fd) != 0 && ok) {
    *error = path + ": write failed: " + std::strerror(errno);
    ok = false;
  }
  // mkstemp creates 0600; a model file is an ordinary readable file. Best
  // effort: some filesystems (FAT on a memory card) refuse any chmod.
  if (ok) chmod(temp->c_str(), 0644);
  if (!ok) {
    unlink(temp->c_str());
    temp->clear();
  }
  return ok;
}

bool commit_temp_file(const std::string& temp, const std::string& path, std::string* error) {
  if (std::rename(temp.c_str(), path.c_str()) != 0) {
    *error = path + ": cannot rename the finished file into place: " + std::strerror(errno);
    unlink(temp.c_str());
    return false;
  }
  return true;
}

bool write_file_atomic(const std::string& path, const void* data, size_t size, std::string* error) {
  std::string temp;
  return write_temp_file(path, data, size, &temp, error) && commit_temp_file(temp, path, error);
}

}  // namespace qrt::convert
