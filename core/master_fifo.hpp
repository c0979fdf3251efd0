// --master-fifo PATH: uWSGI's named pipe of one-letter commands to the master
// (`echo c > /run/app.fifo`). Repeat the option for more fifos; `0`..`9` select which one is
// live (uWSGI's slots: the next commands are read from that path).
#pragma once

#include "config.hpp"

#include <string>
#include <vector>

namespace core {

// What the fifo's letters ask of the master (implemented by the master).
class MasterControl {
public:
    virtual ~MasterControl() = default;
    virtual void graceful_reload() = 0;          // r
    virtual void brutal_reload() = 0;            // R
    virtual void graceful_stop() = 0;            // q
    virtual void brutal_stop() = 0;              // Q
    virtual void chain_reload() = 0;             // c
    virtual void reload_workers(bool brutal) = 0;  // w, W
    virtual void log_stats() = 0;                // s
    virtual void cheaper_nudge(int delta) = 0;   // +, -
    virtual void pause_resume() = 0;             // p (as SIGTSTP)
};

class MasterFifo {
public:
    explicit MasterFifo(const Config &config);  // makes the first fifo when the option is set
    ~MasterFifo();
    MasterFifo(const MasterFifo &) = delete;
    MasterFifo &operator=(const MasterFifo &) = delete;

    // Runs every command written since the last call (never blocks).
    void poll(MasterControl &master);

private:
    void open_slot(size_t slot);
    void run(char command, MasterControl &master);

    std::vector<std::string> paths_;
    size_t slot_ = 0;
    size_t wanted_slot_ = 0;
    int fd_ = -1;
};

}  // namespace core
