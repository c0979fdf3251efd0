// RFC 6455 framing as a server reads and writes it: an incremental decoder of client frames
// (masking required, fragmentation, control frames, UTF-8 of text messages and close reasons,
// the message size limit) and the encoder of unmasked server frames. No I/O: websocket.cpp feeds
// it the connection's bytes, the fuzz target feeds it anything.
//
// Why not Boost.Beast's websocket::stream: it must own the next-layer stream and its read
// buffer, allocates its state per connection, and its keep-alive pings and timeouts only run
// on an io_context (async); the core's connection is a plain fd served by a synchronous request
// thread that also needs "is a whole message buffered?" for websocket_recv_nb. So the framing is
// this small codec beside the connection; the handshake uses Beast's SHA-1 and base64.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>
#include <vector>

namespace core::ws {

enum Opcode : uint8_t {
    kContinuation = 0x0,
    kText = 0x1,
    kBinary = 0x2,
    kClose = 0x8,
    kPing = 0x9,
    kPong = 0xA,
};

// RFC 6455 7.4.1 close codes the server sends.
enum CloseCode : uint16_t {
    kNormal = 1000,
    kGoingAway = 1001,
    kProtocolError = 1002,
    kInvalidPayload = 1007,  // e.g. a text message that is not UTF-8
    kTooBig = 1009,
    kInternalError = 1011,
};

bool utf8_valid(const uint8_t *p, size_t n);

// A close frame's code is one an endpoint may send (RFC 6455 7.4.1/7.4.2).
bool close_code_valid(uint16_t code);

struct Event {
    enum Kind { kNeedMore, kMessage, kPing, kPong, kClose, kError } kind = kNeedMore;
    uint8_t opcode = 0;        // kMessage: kText or kBinary
    std::string_view payload;  // message, ping/pong payload, close reason; valid until next()
    uint16_t code = 0;         // kClose: the peer's code (1005 when none); kError: ours to send
    const char *error = nullptr;  // kError: what was wrong, for the log
};

class Decoder {
public:
    // max_message: the largest message (all its fragments) accepted, in bytes; 0 = no limit.
    void reset(size_t max_message);
    // Consumes bytes from [p, end) up to and including one event; kNeedMore when all of them
    // were consumed without completing one. After kError the decoder must be reset.
    Event next(const uint8_t *&p, const uint8_t *end);

private:
    Event fail(uint16_t code, const char *why);
    Event header_done();
    Event frame_done();

    uint8_t hdr_[14];
    size_t hdr_len_ = 0, hdr_need_ = 2;
    bool in_payload_ = false;
    bool fin_ = false;
    uint8_t opcode_ = 0;
    uint64_t remaining_ = 0;
    uint8_t mask_[4] = {};
    size_t mask_pos_ = 0;
    uint8_t message_opcode_ = 0;  // kText/kBinary while a message is being assembled
    std::vector<uint8_t> message_;
    uint8_t control_[125];
    size_t control_len_ = 0;
    size_t max_message_ = 0;
};

// Writes the header of an unmasked final frame into out (at most 10 bytes); returns its size.
size_t encode_header(uint8_t out[10], uint8_t opcode, uint64_t payload_len);

}  // namespace core::ws
