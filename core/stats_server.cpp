#include "stats_server.hpp"

#include "config.hpp"
#include "runtime.hpp"
#include "stats_json.hpp"
#include "stats_prometheus.hpp"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <string>
#include <sys/socket.h>
#include <sys/time.h>
#include <thread>
#include <unistd.h>

namespace core {
namespace {

int g_fd = -1;
bool g_http = false;
std::string g_unix_path;
std::thread g_thread;
const std::vector<Listener> *g_listeners = nullptr;
std::atomic<bool> g_draining{false};  // a shutdown began: not ready, whatever the workers do

// GET /ready: what a load balancer's or Kubernetes' readiness probe asks. Ready while serving
// with at least one worker accepting; 503 from the moment a shutdown starts (SIGTERM), so the
// balancer stops sending before the listeners close.
std::pair<bool, const char *> readiness(const StatsSnapshot &s) {
    if (g_draining.load()) return {false, "draining: shutting down"};
    for (auto &w : s.workers)
        if (w.pid > 0 && w.accepting) return {true, "ready"};
    return {false, "no worker accepting"};
}

bool send_all(int fd, const std::string &data) {
    size_t off = 0;
    while (off < data.size()) {
        ssize_t n = send(fd, data.data() + off, data.size() - off, MSG_NOSIGNAL);
        if (n <= 0) return false;
        off += size_t(n);
    }
    return true;
}

// The request line's path, read as uWSGI does (one read, at most 4 KiB, bounded in time).
std::string request_path(int fd) {
    char buf[4096];
    ssize_t n = recv(fd, buf, sizeof buf, 0);
    if (n <= 0) return "";
    std::string head(buf, size_t(n));
    size_t sp = head.find(' ');
    if (sp == std::string::npos) return "";
    size_t end = head.find_first_of(" ?\r\n", sp + 1);
    return head.substr(sp + 1, end == std::string::npos ? std::string::npos : end - sp - 1);
}

void answer(int client) {
    // A client that neither sends nor reads must not hold the thread for long.
    timeval tv{2, 0};
    setsockopt(client, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    setsockopt(client, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    StatsSnapshot snapshot = take_stats_snapshot(*g_listeners);
    if (!g_http) {
        send_all(client, stats_json(snapshot));
        return;
    }
    std::string path = request_path(client);
    bool metrics = path == "/metrics";
    const char *status = "200 OK";
    std::string body;
    if (path == "/ready") {
        auto [ready, why] = readiness(snapshot);
        status = ready ? "200 OK" : "503 Service Unavailable";
        body = std::string(why) + "\n";
    } else {
        body = metrics ? stats_prometheus(snapshot) : stats_json(snapshot);
    }
    // uWSGI's --stats-http headers; the Prometheus text gets its own content type.
    std::string head = fmt::format(
        "HTTP/1.0 {}\r\nConnection: close\r\nAccess-Control-Allow-Origin: *\r\n"
        "Content-Type: {}\r\nContent-Length: {}\r\n\r\n",
        status,
        metrics ? "text/plain; version=0.0.4; charset=utf-8"
                : path == "/ready" ? "text/plain" : "application/json",
        body.size());
    if (send_all(client, head)) send_all(client, body);
    shutdown(client, SHUT_WR);
}

void serve() {
    for (;;) {
        int client = accept4(g_fd, nullptr, nullptr, SOCK_CLOEXEC);
        if (client < 0) {
            if (errno == EINTR || errno == ECONNABORTED || errno == EMFILE || errno == ENFILE) {
                if (errno == EMFILE || errno == ENFILE) usleep(100 * 1000);
                continue;
            }
            return;  // shut down by stop_stats_server
        }
        answer(client);
        close(client);
    }
}

}  // namespace

void bind_stats_server() {
    const Config &c = runtime().config;
    const std::string *addr = c.get("stats");
    if (!addr) return;
    g_http = c.flag("stats-http");
    g_fd = listen_on("stats", *addr, 64);
    g_unix_path = parse_address(*addr).unix_path;
    spdlog::info("stats server enabled on {}{}", *addr, g_http ? " (HTTP; Prometheus text at /metrics)" : "");
}

void mark_stats_draining() { g_draining.store(true); }

void start_stats_server(const std::vector<Listener> &listeners) {
    if (g_fd < 0) return;
    g_listeners = &listeners;
    g_thread = std::thread(serve);
}

void close_stats_server_in_worker() {
    if (g_fd < 0) return;
    // The child has no stats thread; it leaves with _exit, so the copied handle is never joined.
    close(g_fd);
    g_fd = -1;
}

void stop_stats_server(bool remove_unix_socket) {
    if (g_fd < 0) return;
    shutdown(g_fd, SHUT_RDWR);  // wakes accept()
    if (g_thread.joinable()) g_thread.join();
    close(g_fd);
    g_fd = -1;
    if (remove_unix_socket && !g_unix_path.empty()) unlink(g_unix_path.c_str());
}

}  // namespace core
