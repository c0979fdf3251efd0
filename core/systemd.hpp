// systemd integration, as uWSGI's: sd_notify datagrams (READY=1 and STATUS=) when systemd set
// NOTIFY_SOCKET (Type=notify units), and socket activation: listening sockets systemd passed in
// LISTEN_FDS (when LISTEN_PID is this process) are used instead of binding.
#pragma once

#include <string>
#include <vector>

namespace core {

// Sends STATE (e.g. "READY=1\nSTATUS=uWSGI is ready\n") to $NOTIFY_SOCKET; nothing without it.
// Never fails the caller: a notify socket that went away is logged once.
void systemd_notify(const std::string &state);

struct ActivatedSocket {
    int fd = -1;
    std::string address;  // what getsockname says: "127.0.0.1:8000", "[::1]:8000" or a path
    bool claimed = false;
};

// The sockets systemd passed (read once; LISTEN_PID/LISTEN_FDS/LISTEN_FDNAMES are then unset
// so the workers' children do not take them for theirs).
std::vector<ActivatedSocket> &activated_sockets();

// The passed socket bound to ADDRESS (as --socket/--http-socket spell it), now claimed; -1 when
// systemd passed none for it.
int claim_activated_socket(const std::string &address);

// The address a socket is bound to, in the form above ("" when it is not an inet/UNIX socket).
std::string bound_address(int fd);

}  // namespace core
