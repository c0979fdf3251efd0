#include "sockets.hpp"

#include "config.hpp"
#include "runtime.hpp"
#include "settings.hpp"
#include "systemd.hpp"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <arpa/inet.h>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sstream>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

namespace core {

static constexpr const char *kInheritedEnv = "UWSGI_INHERITED_SOCKETS";

Endpoint parse_address(const std::string &address) {
    Endpoint e;
    if (address.empty()) throw ConfigError("empty socket address");
    size_t colon = address.rfind(':');
    if (address.find('/') != std::string::npos || colon == std::string::npos) {
        e.unix_path = address;
        return e;
    }
    std::string host = address.substr(0, colon), port = address.substr(colon + 1);
    if (host.size() >= 2 && host.front() == '[' && host.back() == ']')
        host = host.substr(1, host.size() - 2);
    char *end = nullptr;
    long p = std::strtol(port.c_str(), &end, 10);
    if (port.empty() || *end || p < 0 || p > 65535)
        throw ConfigError(fmt::format("bad port in socket address '{}'", address));
    e.host = host;
    e.port = int(p);
    return e;
}

// UWSGI_INHERITED_SOCKETS: one "OPTION=ADDRESS<tab>FD[<tab>activated]" line per listener.
struct Inherited {
    std::string key;
    int fd = -1;
    bool activated = false;
};

static std::vector<Inherited> inherited_listeners() {
    std::vector<Inherited> out;
    const char *env = getenv(kInheritedEnv);
    if (!env) return out;
    std::stringstream ss(env);
    std::string line;
    while (std::getline(ss, line, '\n')) {
        size_t tab = line.find('\t');
        if (tab == std::string::npos) continue;
        Inherited i;
        i.key = line.substr(0, tab);
        i.fd = std::atoi(line.c_str() + tab + 1);
        i.activated = line.find("\tactivated", tab + 1) != std::string::npos;
        out.push_back(i);
    }
    return out;
}

static Inherited inherited_fd(const std::string &option, const std::string &address) {
    for (auto &i : inherited_listeners())
        if (i.key == option + "=" + address) return i;
    return {};
}

static int bind_tcp(const std::string &address, const Endpoint &e) {
    addrinfo hints{}, *res = nullptr;
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
    std::string port = std::to_string(e.port);
    int rc = getaddrinfo(e.host.empty() ? nullptr : e.host.c_str(), port.c_str(), &hints, &res);
    if (rc != 0)
        throw ConfigError(fmt::format("cannot resolve socket address '{}': {}", address,
                                      gai_strerror(rc)));
    // ":port" binds every IPv4 address, as uWSGI does.
    addrinfo *pick = res;
    if (e.host.empty())
        for (addrinfo *a = res; a; a = a->ai_next)
            if (a->ai_family == AF_INET) pick = a;
    int fd = socket(pick->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    if (bind(fd, pick->ai_addr, pick->ai_addrlen) != 0) {
        int err = errno;
        freeaddrinfo(res);
        close(fd);
        throw ConfigError(fmt::format("cannot bind '{}': {}", address, strerror(err)));
    }
    freeaddrinfo(res);
    return fd;
}

static int bind_unix(const std::string &path) {
    sockaddr_un sa{};
    if (path.size() >= sizeof sa.sun_path)
        throw ConfigError(fmt::format("UNIX socket path '{}' is too long", path));
    sa.sun_family = AF_UNIX;
    std::memcpy(sa.sun_path, path.c_str(), path.size());
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    unlink(path.c_str());
    if (bind(fd, reinterpret_cast<sockaddr *>(&sa), sizeof sa) != 0) {
        int err = errno;
        close(fd);
        throw ConfigError(fmt::format("cannot bind UNIX socket '{}': {}", path, strerror(err)));
    }
    if (settings().socket_mode >= 0 && chmod(path.c_str(), mode_t(settings().socket_mode)) != 0) {
        int err = errno;
        close(fd);
        throw ConfigError(fmt::format("cannot chmod UNIX socket '{}' (--chmod-socket): {}", path,
                                      strerror(err)));
    }
    return fd;
}

int bind_address(const std::string &address) {
    Endpoint e = parse_address(address);
    return e.unix_path.empty() ? bind_tcp(address, e) : bind_unix(e.unix_path);
}

int listen_on(const std::string &option, const std::string &address, int backlog) {
    int fd;
    try {
        fd = bind_address(address);
    } catch (const ConfigError &e) {
        throw ConfigError(fmt::format("--{} {}: {} (is another server or stats server using "
                                      "it? choose a free address)",
                                      option, address, e.what()));
    }
    if (listen(fd, backlog) != 0)
        throw ConfigError(fmt::format("--{} {}: cannot listen: {}", option, address,
                                      strerror(errno)));
    return fd;
}

Listener open_listener(const std::string &option, const std::string &address,
                       const uwsgi_protocol *protocol) {
    Endpoint e = parse_address(address);
    Listener l{address, option, -1, protocol, e.unix_path};
    Inherited inherited = inherited_fd(option, address);
    l.fd = inherited.fd;
    l.activated = inherited.activated;
    if (l.fd < 0 && (l.fd = claim_activated_socket(address)) >= 0) l.activated = true;
    if (l.fd >= 0) {
        fcntl(l.fd, F_SETFD, FD_CLOEXEC);
    } else {
        l.fd = bind_address(address);
        if (listen(l.fd, settings().listen_backlog) != 0)
            throw ConfigError(fmt::format("cannot listen on '{}': {}", address, strerror(errno)));
        if (e.unix_path.empty()) {
            // Both protocols have the client speak first: accept() only once it has, so a
            // worker never waits on a connection that is not sending (nginx's "deferred").
            int secs = std::max(1, settings().socket_timeout_ms / 1000);
            setsockopt(l.fd, IPPROTO_TCP, TCP_DEFER_ACCEPT, &secs, sizeof secs);
        }
    }
    fcntl(l.fd, F_SETFL, fcntl(l.fd, F_GETFL) | O_NONBLOCK);
    spdlog::info("{} bound to {} ({} protocol, fd {})", option, address, protocol->name, l.fd);
    return l;
}

static int g_router_socket_port = 0;

void set_router_socket(int fd) {
    sockaddr_in a{};
    socklen_t len = sizeof a;
    if (getsockname(fd, reinterpret_cast<sockaddr *>(&a), &len) == 0)
        g_router_socket_port = ntohs(a.sin_port);
    spdlog::info("--http: the router passes requests to the workers on 127.0.0.1:{} (uwsgi "
                 "protocol)",
                 g_router_socket_port);
}

int router_socket_port() { return g_router_socket_port; }

// Sockets plugins asked for (host->listen_socket), handed over across a reload like listeners.
static std::vector<Listener> &plugin_sockets() {
    static std::vector<Listener> all;
    return all;
}

int plugin_listen_socket(const std::string &option, const std::string &address) {
    int fd = inherited_fd(option, address).fd;
    if (fd >= 0) {
        fcntl(fd, F_SETFD, FD_CLOEXEC);
        spdlog::info("--{} {}: the listening socket of the previous image (fd {})", option,
                     address, fd);
    } else {
        fd = listen_on(option, address, settings().listen_backlog);
    }
    plugin_sockets().push_back(Listener{address, option, fd, nullptr, {}, nullptr, false});
    return fd;
}

void export_listeners(const std::vector<Listener> &listeners) {
    std::string env;
    auto add = [&](const Listener &l) {
        fcntl(l.fd, F_SETFD, 0);  // survive exec
        env += fmt::format("{}={}\t{}{}\n", l.option, l.address, l.fd,
                           l.activated ? "\tactivated" : "");
    };
    for (auto &l : listeners) add(l);
    for (auto &l : plugin_sockets()) add(l);
    setenv(kInheritedEnv, env.c_str(), 1);
}

}  // namespace core

namespace core {

void stop_listening(const std::vector<Listener> &listeners) {
    // systemd's socket stays open for the next start (activation queues connections meanwhile)
    for (auto &l : listeners)
        if (!l.activated) shutdown(l.fd, SHUT_RDWR);
}

std::vector<Listener> adopt_unclaimed_activated(const std::vector<Listener> &open,
                                                const uwsgi_protocol *protocol) {
    std::vector<Listener> out;
    auto adopt = [&](const std::string &address, int fd) {
        for (auto &l : open)
            if (l.fd == fd) return;
        Listener l{address, "socket", fd, protocol, {}, nullptr, true};
        fcntl(fd, F_SETFD, FD_CLOEXEC);
        fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
        spdlog::info("socket {} passed by systemd or a zerg server (fd {}), serving the {} "
                     "protocol", address, fd,
                     protocol->name);
        out.push_back(l);
    };
    for (auto &a : activated_sockets())
        if (!a.claimed) {
            a.claimed = true;
            adopt(a.address, a.fd);
        }
    for (auto &i : inherited_listeners())  // adopted so by the image before a reload
        if (i.activated) adopt(i.key.substr(i.key.find('=') + 1), i.fd);
    return out;
}

}  // namespace core
