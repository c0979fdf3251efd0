#include "run_files.hpp"

#include "runtime.hpp"

#include <fmt/format.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <unistd.h>

namespace core {

// Writes our pid to `file`; false with err set when it cannot.
static bool write_pid_to(const std::string &file, int &err) {
    FILE *f = std::fopen(file.c_str(), "w");
    if (!f) {
        err = errno;
        return false;
    }
    bool ok = std::fprintf(f, "%d\n", int(getpid())) > 0;
    err = errno;
    if (std::fclose(f) != 0 && ok) {
        ok = false;
        err = errno;
    }
    return ok;
}

void write_pidfile(const Config &config) {
    const std::string *path = config.get("pidfile");
    if (!path) return;
    // After a reload the file already names us (same pid, re-executed) and may no longer be
    // writable once --uid dropped root: nothing to do.
    if (FILE *old = std::fopen(path->c_str(), "r")) {
        int pid = 0;
        bool ours = std::fscanf(old, "%d", &pid) == 1 && pid == int(getpid());
        std::fclose(old);
        if (ours) return;
    }
    // Written beside it and renamed over it, so whoever sees the port open (it is written just
    // after binding) never reads an empty file; in place when only the file is writable (a
    // pidfile prepared for the server in a directory it may not write).
    std::string tmp = *path + ".tmp" + std::to_string(getpid());
    int err = 0;
    if (write_pid_to(tmp, err)) {
        if (std::rename(tmp.c_str(), path->c_str()) == 0) return;
        err = errno;
        std::remove(tmp.c_str());
    } else if ((err == EACCES || err == EROFS) && write_pid_to(*path, err)) {
        return;
    }
    throw ConfigError(fmt::format("cannot write --pidfile '{}': {} (give a writable path)", *path,
                                  std::strerror(err)));
}

void remove_run_files(const std::vector<Listener> &listeners) {
    for (auto &l : listeners)
        if (!l.unix_path.empty() && !l.activated) unlink(l.unix_path.c_str());
    if (const std::string *pidfile = runtime().config.get("pidfile")) unlink(pidfile->c_str());
}

}  // namespace core
