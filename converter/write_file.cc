#include "write_file.h"

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

namespace qrt::convert {

bool write_file_atomic(const std::string& path, const void* data, size_t size, std::string* error) {
  struct stat st;
  if (stat(path.c_str(), &st) == 0 && !S_ISREG(st.st_mode)) {
    // Never replace a device, directory or socket with a model file.
    *error = path + ": exists and is not a regular file";
    return false;
  }
  std::string tmp = path + ".tmp-XXXXXX";
  int fd = mkstemp(tmp.data());
  if (fd < 0) {
    *error = path + ": cannot create a file there: " + std::strerror(errno);
    return false;
  }
  const auto* p = static_cast<const uint8_t*>(data);
  size_t done = 0;
  while (done < size) {
    ssize_t w = write(fd, p + done, size - done);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) {
      *error = path + ": write failed: " + std::strerror(errno);
      close(fd);
      unlink(tmp.c_str());
      return false;
    }
    done += static_cast<size_t>(w);
  }
  if (fsync(fd) != 0 || close(fd) != 0) {
    *error = path + ": write failed: " + std::strerror(errno);
    unlink(tmp.c_str());
    return false;
  }
  // mkstemp creates 0600; a model file is an ordinary readable file.
  chmod(tmp.c_str(), 0644);
  if (std::rename(tmp.c_str(), path.c_str()) != 0) {
    *error = path + ": cannot rename the finished file into place: " + std::strerror(errno);
    unlink(tmp.c_str());
    return false;
  }
  return true;
}

}  // namespace qrt::convert
