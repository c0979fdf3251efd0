// WebSocket echo load client for bench/websocket_bench.py: CONNS connections to ws://127.0.0.1:
// PORT/PATH, each with one binary message of SIZE bytes in flight (closed loop); after WARMUP
// seconds it counts round trips for SECS seconds. One thread and epoll, so the client costs
// little CPU next to the server (it reports its own CPU time to show it was not the ceiling).
// Prints one line: "messages=N secs=S p50_us=A p99_us=B client_cpu_s=C".
//
//     c++ -O2 -std=c++17 -o ws_echo_client ws_echo_client.cpp
//     ws_echo_client PORT PATH CONNS SIZE WARMUP SECS
#include <algorithm>
#include <arpa/inet.h>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <string>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>
#include <vector>

namespace {

using Clock = std::chrono::steady_clock;

[[noreturn]] void die(const char *what) {
    std::fprintf(stderr, "ws_echo_client: %s: %s\n", what, std::strerror(errno));
    std::exit(1);
}

struct Conn {
    int fd = -1;
    std::string in;           // bytes of the echo read so far
    Clock::time_point sent;   // when the message in flight left
};

void write_all(int fd, const char *p, size_t n) {
    while (n) {
        ssize_t w = ::write(fd, p, n);
        if (w < 0) {
            if (errno == EINTR || errno == EAGAIN) continue;  // tiny messages: rare, retried
            die("write");
        }
        p += w;
        n -= size_t(w);
    }
}

int open_ws(int port, const std::string &path) {
    int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0) die("socket");
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(uint16_t(port));
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::connect(fd, reinterpret_cast<sockaddr *>(&a), sizeof a) < 0) die("connect");
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    std::string req = "GET " + path + " HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n"
                      "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                      "Sec-WebSocket-Version: 13\r\n\r\n";
    write_all(fd, req.data(), req.size());
    std::string head;
    char c;
    while (head.size() < 4 || head.compare(head.size() - 4, 4, "\r\n\r\n") != 0) {
        if (::read(fd, &c, 1) != 1) die("handshake read");
        head += c;
    }
    if (head.compare(0, 12, "HTTP/1.1 101") != 0) {
        std::fprintf(stderr, "ws_echo_client: upgrade refused: %s\n", head.c_str());
        std::exit(1);
    }
    return fd;
}

// A whole server frame at the front of `in`: its length (and its payload's), else 0.
size_t frame_length(const std::string &in, size_t &payload) {
    if (in.size() < 2) return 0;
    size_t n = uint8_t(in[1]) & 0x7F, at = 2;
    if (n == 126) {
        if (in.size() < 4) return 0;
        n = (size_t(uint8_t(in[2])) << 8) | uint8_t(in[3]);
        at = 4;
    } else if (n == 127) {
        if (in.size() < 10) return 0;
        n = 0;
        for (int i = 2; i < 10; ++i) n = (n << 8) | uint8_t(in[size_t(i)]);
        at = 10;
    }
    payload = n;
    return in.size() >= at + n ? at + n : 0;
}

std::string masked_frame(size_t size) {
    std::string f;
    f += char(0x82);  // FIN, binary
    if (size < 126) {
        f += char(0x80 | size);
    } else if (size < 65536) {
        f += char(0x80 | 126);
        f += char(size >> 8);
        f += char(size & 0xFF);
    } else {
        f += char(0x80 | 127);
        for (int i = 7; i >= 0; --i) f += char((size >> (8 * i)) & 0xFF);
    }
    const char key[4] = {0x12, 0x34, 0x56, 0x78};
    f.append(key, 4);
    for (size_t i = 0; i < size; ++i) f += char('a' + i % 26) ^ key[i % 4];
    return f;
}

double cpu_seconds() {
    rusage u{};
    getrusage(RUSAGE_SELF, &u);
    return double(u.ru_utime.tv_sec + u.ru_stime.tv_sec) +
           double(u.ru_utime.tv_usec + u.ru_stime.tv_usec) / 1e6;
}

}  // namespace

int main(int argc, char **argv) {
    if (argc != 7) {
        std::fprintf(stderr, "usage: ws_echo_client PORT PATH CONNS SIZE WARMUP SECS\n");
        return 2;
    }
    int port = std::atoi(argv[1]);
    std::string path = argv[2];
    int conns = std::atoi(argv[3]);
    size_t size = size_t(std::atol(argv[4]));
    double warmup = std::atof(argv[5]), secs = std::atof(argv[6]);

    const std::string frame = masked_frame(size);

    int ep = epoll_create1(0);
    std::vector<Conn> all(static_cast<size_t>(conns));
    for (int i = 0; i < conns; ++i) {
        Conn &c = all[size_t(i)];
        c.fd = open_ws(port, path);
        epoll_event ev{};
        ev.events = EPOLLIN;
        ev.data.ptr = &c;
        if (epoll_ctl(ep, EPOLL_CTL_ADD, c.fd, &ev) < 0) die("epoll_ctl");
    }
    for (Conn &c : all) {
        c.sent = Clock::now();
        write_all(c.fd, frame.data(), frame.size());
    }

    const auto start = Clock::now();
    const auto measure_from = start + std::chrono::duration_cast<Clock::duration>(
                                          std::chrono::duration<double>(warmup));
    const auto end = measure_from + std::chrono::duration_cast<Clock::duration>(
                                        std::chrono::duration<double>(secs));
    std::vector<uint32_t> latencies_us;
    latencies_us.reserve(4 << 20);
    double cpu_at_start = -1;
    char buf[65536];
    epoll_event events[64];
    for (;;) {
        auto now = Clock::now();
        if (now >= end) break;
        if (cpu_at_start < 0 && now >= measure_from) cpu_at_start = cpu_seconds();
        int n = epoll_wait(ep, events, 64, 100);
        if (n < 0 && errno != EINTR) die("epoll_wait");
        for (int i = 0; i < n; ++i) {
            Conn &c = *static_cast<Conn *>(events[i].data.ptr);
            ssize_t r = ::read(c.fd, buf, sizeof buf);
            if (r <= 0) {
                std::fprintf(stderr, "ws_echo_client: the server closed a connection\n");
                return 1;
            }
            c.in.append(buf, size_t(r));
            size_t payload = 0;
            while (size_t len = frame_length(c.in, payload)) {
                auto got = Clock::now();
                if ((uint8_t(c.in[0]) & 0x0F) != 2 || payload != size) {
                    std::fprintf(stderr, "ws_echo_client: unexpected frame (opcode %d)\n",
                                 c.in[0] & 0x0F);
                    return 1;
                }
                c.in.erase(0, len);
                if (got >= measure_from && got < end)
                    latencies_us.push_back(uint32_t(
                        std::chrono::duration_cast<std::chrono::microseconds>(got - c.sent).count()));
                c.sent = got;
                write_all(c.fd, frame.data(), frame.size());
            }
        }
    }
    double cpu = cpu_seconds() - (cpu_at_start < 0 ? 0 : cpu_at_start);
    std::sort(latencies_us.begin(), latencies_us.end());
    auto pct = [&](double p) {
        return latencies_us.empty() ? 0u
                                    : latencies_us[std::min(latencies_us.size() - 1,
                                                            size_t(p * double(latencies_us.size())))];
    };
    std::printf("messages=%zu secs=%.3f p50_us=%u p99_us=%u client_cpu_s=%.3f\n",
                latencies_us.size(), secs, pct(0.50), pct(0.99), cpu);
    for (Conn &c : all) close(c.fd);
    return 0;
}
