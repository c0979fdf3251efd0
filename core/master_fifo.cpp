#include "master_fifo.hpp"

#include "log_rotation.hpp"
#include "run_files.hpp"
#include "runtime.hpp"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

namespace core {

MasterFifo::MasterFifo(const Config &config) : paths_(config.all("master-fifo")) {
    if (!paths_.empty()) open_slot(0);
}

MasterFifo::~MasterFifo() {
    if (fd_ >= 0) close(fd_);
}

// uWSGI's way: the path is made afresh (a stale file or fifo there is replaced), readable and
// writable by the owner only.
void MasterFifo::open_slot(size_t slot) {
    const std::string &path = paths_[slot];
    if (fd_ >= 0) close(fd_);
    fd_ = -1;
    if (unlink(path.c_str()) != 0 && errno != ENOENT)
        throw ConfigError(fmt::format("--master-fifo {}: cannot replace it: {}", path,
                                      strerror(errno)));
    if (mkfifo(path.c_str(), S_IRUSR | S_IWUSR) != 0)
        throw ConfigError(fmt::format("--master-fifo {}: cannot create the fifo: {} (is its "
                                      "directory there and writable?)", path, strerror(errno)));
    // Read-write, so the master is always a writer itself: between two `echo`s reads say
    // "nothing yet" (EAGAIN) instead of end-of-file, and no command is lost to a reopen.
    fd_ = open(path.c_str(), O_RDWR | O_NONBLOCK | O_CLOEXEC);
    if (fd_ < 0)
        throw ConfigError(fmt::format("--master-fifo {}: cannot open it: {}", path,
                                      strerror(errno)));
    slot_ = slot;
}

void MasterFifo::poll(MasterControl &master) {
    if (fd_ < 0) return;
    char buf[64];
    ssize_t n;
    while ((n = read(fd_, buf, sizeof buf)) > 0)
        for (ssize_t i = 0; i < n; ++i) run(buf[i], master);
    if (wanted_slot_ != slot_) {
        // as uWSGI, the new slot's fifo takes the commands from now on
        try {
            open_slot(wanted_slot_);
            spdlog::info("active master fifo is now {}", paths_[slot_]);
        } catch (const ConfigError &e) {
            spdlog::error("{}; staying on {}", e.what(), paths_[slot_]);
            wanted_slot_ = slot_;
            open_slot(slot_);
        }
    }
}

void MasterFifo::run(char command, MasterControl &master) {
    switch (command) {
    case 'r': return master.graceful_reload();
    case 'R': return master.brutal_reload();
    case 'q': return master.graceful_stop();
    case 'Q': return master.brutal_stop();
    case 'c': return master.chain_reload();
    case 'w': return master.reload_workers(false);
    case 'W': return master.reload_workers(true);
    case 's': return master.log_stats();
    case '+': return master.cheaper_nudge(1);
    case '-': return master.cheaper_nudge(-1);
    case 'p': return master.pause_resume();
    case 'l': return reopen_log_now();
    case 'L': return rotate_log_now();
    case 'P':
        write_pidfile(runtime().config);
        spdlog::info("pidfile updated (master fifo)");
        return;
    case '\n': case '\r': case ' ': case '\t':
        return;  // `echo r > fifo` writes a newline too
    default:
        if (command >= '0' && command <= '9') {
            size_t slot = size_t(command - '0');
            if (slot < paths_.size()) wanted_slot_ = slot;
            else spdlog::warn("master fifo: no fifo number {} (there are {})", slot, paths_.size());
            return;
        }
        spdlog::warn("master fifo: unknown command '{}'", command);
    }
}

}  // namespace core
