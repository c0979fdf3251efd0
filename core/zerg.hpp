// uWSGI's zergs: --zerg-server PATH (master) hands the instance's listening sockets to any
// process that connects to the UNIX socket PATH (SCM_RIGHTS, uWSGI's "uwsgi-zerg" message);
// --zerg PATH makes an instance connect at start-up and serve those sockets as its own, so its
// workers join the same listen queues without binding anything (extra capacity attached to a
// running server, and detached by stopping it).
#pragma once

#include "config.hpp"
#include "sockets.hpp"

#include <string>
#include <vector>

namespace core {

// Start-up, before the listeners are opened (not again after a reload: the sockets are then
// inherited). The received sockets join the socket-activation list (systemd.hpp): matched by
// address to the socket options, the rest served with the uwsgi protocol (uWSGI's default),
// and, like systemd's, never shut down or unlinked by this instance (the zerg server owns
// them). A zerg server that cannot be reached stops start-up unless --zerg-fallback.
void attach_zergs(const Config &config);

class ZergServer {
public:
    // Listens on --zerg-server PATH when it is set (ConfigError when it cannot).
    ZergServer(const Config &config, const std::vector<Listener> &listeners);
    ~ZergServer();
    ZergServer(const ZergServer &) = delete;
    ZergServer &operator=(const ZergServer &) = delete;

    // Master, each tick: hands the listeners to every zerg that connected (never blocks).
    void poll();

private:
    const std::vector<Listener> &listeners_;
    std::string path_;
    int fd_ = -1;
};

}  // namespace core
