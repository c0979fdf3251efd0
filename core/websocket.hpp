// A WebSocket on the connection of the request that upgraded it (host->ws_handshake, ws_recv,
// ws_send). One lives in each request thread's uwsgi_request and is reused, buffers included.
// The request thread keeps serving the WebSocket until the handler returns; the connection is
// then closed (never kept alive or framed as HTTP again).
#pragma once

#include "websocket_frame.hpp"

#include <uwsgi/plugin.h>

#include <cstdint>
#include <mutex>
#include <string_view>
#include <vector>

namespace core {

class WebSocket {
public:
    bool active() const { return active_; }
    // The handshake of plugin.h's host->ws_handshake: answers 101, or an HTTP error.
    int handshake(uwsgi_request *req, std::string_view key, std::string_view origin,
                  std::string_view proto);
    // mode: 0 waits for a whole message, 1 reads once without waiting (and runs the ping
    // timers), UWSGI_WS_RECV_BUFFERED decodes buffered bytes only (plugin.h's ws_recv).
    int recv(int mode, uwsgi_str *msg, uint8_t *opcode);
    int send(uint8_t opcode, const void *buf, size_t len);
    // The handler returned: a close frame (1000, or 1011 when it failed) unless one was
    // exchanged, then the connection is drained briefly so the peer reads our close.
    void finish(bool handler_failed);
    void reset() { active_ = false; }

private:
    int fail(uint16_t code, const char *why);
    int send_close(uint16_t code);
    int send_frame(uint8_t opcode, const void *buf, size_t len);
    int send_gathered(const uint8_t *head, size_t h, const uint8_t *payload, size_t len);
    int fill(int timeout_ms);  // >0 bytes read, 0 timeout, <0 peer gone

    bool active_ = false;
    bool close_sent_ = false, closed_ = false;
    bool blocking_recv_ = false;  // a plain socket: fill waits in recv (websocket.cpp)
    uwsgi_conn *conn_ = nullptr;
    ws::Decoder decoder_;
    std::vector<uint8_t> in_;
    size_t in_pos_ = 0, in_len_ = 0;
    int64_t last_ping_ms_ = 0, ping_sent_ms_ = 0;  // ping_sent_ms_: a ping awaits its pong
    std::mutex send_mutex_;  // an app may send from another thread while this one receives
};

}  // namespace core
