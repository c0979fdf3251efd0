// Listening sockets: address parsing, binding, and handing them over across a reload.
#pragma once

#include <uwsgi/plugin.h>

#include <memory>
#include <string>
#include <vector>

struct ssl_ctx_st;

namespace core {

struct Listener {
    std::string address;  // as configured
    std::string option;   // the option that asked for it ("socket", "http-socket")
    int fd = -1;
    const uwsgi_protocol *protocol = nullptr;
    std::string unix_path;  // empty for TCP
    std::shared_ptr<ssl_ctx_st> tls;  // --https-socket: every connection speaks TLS first
    bool activated = false;  // passed by systemd (LISTEN_FDS): systemd owns it, we never close it
};

struct Endpoint {
    std::string host;  // empty: any address
    int port = -1;
    std::string unix_path;
};

// ":port", "host:port", "[v6]:port", or a UNIX path. Throws ConfigError.
Endpoint parse_address(const std::string &address);

// A bound, close-on-exec, not yet listening socket for ADDR (TCP or UNIX). Throws ConfigError.
int bind_address(const std::string &address);

// bind_address, then listen: a listening socket for a side service (--stats, --emperor-stats).
// The ConfigError names the option and says what to do when the address is taken.
int listen_on(const std::string &option, const std::string &address, int backlog);

// Binds (or takes over from the previous process image, see UWSGI_INHERITED_SOCKETS) a listener.
Listener open_listener(const std::string &option, const std::string &address,
                       const uwsgi_protocol *protocol);

// Listeners systemd passed that no option claimed (uWSGI serves them with the uwsgi protocol,
// or PROTOCOL), including those a previous image adopted so.
std::vector<Listener> adopt_unclaimed_activated(const std::vector<Listener> &open,
                                                const uwsgi_protocol *protocol);

// The uwsgi socket bound for the --http router (host->setting "router-socket-port"), 0: none.
void set_router_socket(int fd);
int router_socket_port();

// host->listen_socket: a listening socket for a plugin's own process (the --http router), bound
// once and then handed from image to image across reloads, so its clients are never refused
// while the next image starts (they wait in the backlog). Throws ConfigError.
int plugin_listen_socket(const std::string &option, const std::string &address);

// Exports listener fds (non-close-on-exec), plugins' sockets included, for the next image.
void export_listeners(const std::vector<Listener> &listeners);

// At the start of a shutdown: the listeners stop listening for every process sharing them, so
// new connections are refused at once and clients (or nginx) retry elsewhere instead of waiting
// in the backlog to be reset when the last process exits. A reload keeps them listening: the
// next image inherits them and the backlog waits for it.
void stop_listening(const std::vector<Listener> &listeners);

}  // namespace core
