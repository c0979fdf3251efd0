// The kernel's floor under bench/websocket_bench.py's echo (--floor): a WebSocket echo server in
// plain C++, no interpreter and no GIL, in the two designs a server can have:
//   threads  one blocking thread per connection (recv, unmask, send): what a thread per
//            WebSocket costs at the least, as uWSGI's threaded mode and ours run it;
//   epoll    one thread serving every connection from epoll_wait (an event loop).
// Just enough RFC 6455 for ws_echo_client.cpp (binary frames, no pings, no fragments), and a
// plain 200 for any other path (the bench's readiness probe). Not a server to use.
//
//     ws_floor_server threads|epoll --http-socket 127.0.0.1:PORT [other options ignored]
#include <arpa/inet.h>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <string>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <thread>
#include <unistd.h>
#include <vector>

namespace {

struct Conn {
    std::string in;
    bool upgraded = false;
};

bool send_all(int fd, const std::string &out) {
    return send(fd, out.data(), out.size(), MSG_NOSIGNAL) == ssize_t(out.size());
}

// Answers what `c.in` holds whole: the handshake, then each masked frame echoed unmasked.
// false: close the connection.
bool serve(int fd, Conn &c) {
    if (!c.upgraded) {
        size_t end = c.in.find("\r\n\r\n");
        if (end == std::string::npos) return true;
        if (c.in.compare(0, 9, "GET /echo") != 0) {
            send_all(fd, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok");
            return false;
        }
        c.in.erase(0, end + 4);
        c.upgraded = true;  // the client does not check the accept value
        if (!send_all(fd, "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
                          "Connection: Upgrade\r\nSec-WebSocket-Accept: x\r\n\r\n"))
            return false;
    }
    for (;;) {
        auto *p = reinterpret_cast<const uint8_t *>(c.in.data());
        size_t have = c.in.size(), n = have >= 2 ? p[1] & 0x7F : 0, at = 2;
        if (have < 2) return true;
        if (n == 126) {
            if (have < 4) return true;
            n = size_t(p[2]) << 8 | p[3];
            at = 4;
        } else if (n == 127) {
            if (have < 10) return true;
            n = 0;
            for (int i = 2; i < 10; ++i) n = n << 8 | p[i];
            at = 10;
        }
        if (have < at + 4 + n) return true;
        const uint8_t *mask = p + at, *payload = p + at + 4;
        uint8_t head[10] = {0x82};
        size_t h = 2;
        if (n < 126) {
            head[1] = uint8_t(n);
        } else if (n < 65536) {
            head[1] = 126;
            head[2] = uint8_t(n >> 8);
            head[3] = uint8_t(n);
            h = 4;
        } else {
            head[1] = 127;
            for (int i = 0; i < 8; ++i) head[2 + i] = uint8_t(n >> (8 * (7 - i)));
            h = 10;
        }
        thread_local std::string out;  // one buffer per thread, reused
        out.assign(reinterpret_cast<const char *>(head), h);
        out.resize(h + n);
        for (size_t i = 0; i < n; ++i) out[h + i] = char(payload[i] ^ mask[i % 4]);
        if (!send_all(fd, out)) return false;
        c.in.erase(0, at + 4 + n);
    }
}

int accept_one(int listener) {
    int fd = accept(listener, nullptr, nullptr), one = 1;
    if (fd >= 0) setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    return fd;
}

[[noreturn]] void run_threads(int listener) {
    for (;;) {
        int fd = accept_one(listener);
        if (fd < 0) continue;
        std::thread([fd] {
            Conn c;
            char buf[65536];
            for (ssize_t r; (r = recv(fd, buf, sizeof buf, 0)) > 0;) {
                c.in.append(buf, size_t(r));
                if (!serve(fd, c)) break;
            }
            close(fd);
        }).detach();
    }
}

[[noreturn]] void run_epoll(int listener) {
    int ep = epoll_create1(0);
    epoll_event ev{EPOLLIN, {}};
    ev.data.fd = listener;
    epoll_ctl(ep, EPOLL_CTL_ADD, listener, &ev);
    std::vector<Conn> conns(1024);
    char buf[65536];
    epoll_event ready[64];
    for (;;) {
        int n = epoll_wait(ep, ready, 64, -1);
        for (int i = 0; i < n; ++i) {
            int fd = ready[i].data.fd;
            if (fd == listener) {
                int c = accept_one(listener);
                if (c < 0) continue;
                if (size_t(c) >= conns.size()) conns.resize(size_t(c) * 2);
                conns[size_t(c)] = Conn();
                ev.data.fd = c;
                epoll_ctl(ep, EPOLL_CTL_ADD, c, &ev);
                continue;
            }
            ssize_t r = recv(fd, buf, sizeof buf, 0);
            if (r > 0) conns[size_t(fd)].in.append(buf, size_t(r));
            if (r <= 0 || !serve(fd, conns[size_t(fd)])) close(fd);  // close leaves the epoll set
        }
    }
}

}  // namespace

int main(int argc, char **argv) {
    std::string mode = argc > 1 ? argv[1] : "", addr;
    for (int i = 2; i + 1 < argc; ++i)
        if (std::strcmp(argv[i], "--http-socket") == 0) addr = argv[i + 1];
    size_t colon = addr.rfind(':');
    if ((mode != "threads" && mode != "epoll") || colon == std::string::npos) {
        std::fprintf(stderr, "usage: ws_floor_server threads|epoll --http-socket HOST:PORT\n");
        return 2;
    }
    int listener = socket(AF_INET, SOCK_STREAM, 0), one = 1;
    setsockopt(listener, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(uint16_t(std::atoi(addr.c_str() + colon + 1)));
    inet_pton(AF_INET, addr.substr(0, colon).c_str(), &a.sin_addr);
    if (bind(listener, reinterpret_cast<sockaddr *>(&a), sizeof a) != 0 || listen(listener, 128) != 0) {
        std::perror("ws_floor_server: bind");
        return 1;
    }
    if (mode == "threads") run_threads(listener);
    run_epoll(listener);
}
