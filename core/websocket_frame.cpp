#include "websocket_frame.hpp"

#include <algorithm>
#include <cstring>

namespace core::ws {

bool utf8_valid(const uint8_t *p, size_t n) {
    size_t i = 0;
    while (i < n) {
        uint8_t c = p[i];
        if (c < 0x80) {
            ++i;
            continue;
        }
        size_t len;
        uint32_t cp;
        if ((c & 0xE0) == 0xC0) len = 2, cp = c & 0x1F;
        else if ((c & 0xF0) == 0xE0) len = 3, cp = c & 0x0F;
        else if ((c & 0xF8) == 0xF0) len = 4, cp = c & 0x07;
        else return false;
        if (n - i < len) return false;
        for (size_t k = 1; k < len; ++k) {
            if ((p[i + k] & 0xC0) != 0x80) return false;
            cp = (cp << 6) | (p[i + k] & 0x3F);
        }
        // overlong forms, UTF-16 surrogates and code points past U+10FFFF are not UTF-8
        static const uint32_t kMin[5] = {0, 0, 0x80, 0x800, 0x10000};
        if (cp < kMin[len] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return false;
        i += len;
    }
    return true;
}

// dst = src XOR the frame's key, starting at key byte `phase`: eight bytes at a time (a byte
// loop was an eighth of a worker's CPU echoing 4 KiB messages). Steps of 8 keep the phase, so
// one rotated 64-bit key serves the whole run.
static void unmask(uint8_t *dst, const uint8_t *src, size_t n, const uint8_t key[4], size_t phase) {
    uint8_t rotated[8];
    for (size_t k = 0; k < 8; ++k) rotated[k] = key[(phase + k) & 3];
    uint64_t key64;
    std::memcpy(&key64, rotated, 8);
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        uint64_t word;
        std::memcpy(&word, src + i, 8);
        word ^= key64;
        std::memcpy(dst + i, &word, 8);
    }
    for (; i < n; ++i) dst[i] = src[i] ^ rotated[i & 7];
}

bool close_code_valid(uint16_t code) {
    if (code >= 3000 && code <= 4999) return true;  // registered and private codes
    switch (code) {
    case 1000: case 1001: case 1002: case 1003: case 1007: case 1008: case 1009: case 1010:
    case 1011: case 1012: case 1013: case 1014:
        return true;
    default:
        return false;  // 1004-1006 and 1015 must never be sent; the rest is unassigned
    }
}

void Decoder::reset(size_t max_message) {
    hdr_len_ = 0;
    hdr_need_ = 2;
    in_payload_ = false;
    message_opcode_ = 0;
    message_.clear();  // keeps its capacity: the next connection on this thread reuses it
    control_len_ = 0;
    max_message_ = max_message;
}

Event Decoder::fail(uint16_t code, const char *why) {
    Event e;
    e.kind = Event::kError;
    e.code = code;
    e.error = why;
    return e;
}

// The whole header is in hdr_: check it against RFC 6455 5.2-5.5 before any payload is taken.
Event Decoder::header_done() {
    fin_ = hdr_[0] & 0x80;
    opcode_ = hdr_[0] & 0x0F;
    if (hdr_[0] & 0x70) return fail(kProtocolError, "reserved bits set (no extension negotiated)");
    uint64_t len = hdr_[1] & 0x7F;
    size_t at = 2;
    if (len == 126) {
        len = uint64_t(hdr_[2]) << 8 | hdr_[3];
        at = 4;
    } else if (len == 127) {
        len = 0;
        for (int k = 0; k < 8; ++k) len = len << 8 | hdr_[2 + k];
        if (len >> 63) return fail(kProtocolError, "64-bit frame length with its top bit set");
        at = 10;
    }
    std::memcpy(mask_, hdr_ + at, 4);
    mask_pos_ = 0;
    remaining_ = len;
    bool control = opcode_ & 0x8;
    if (control) {
        if (opcode_ != kClose && opcode_ != kPing && opcode_ != kPong)
            return fail(kProtocolError, "unknown control opcode");
        if (!fin_) return fail(kProtocolError, "fragmented control frame");
        if (len > 125) return fail(kProtocolError, "control frame payload over 125 bytes");
        control_len_ = 0;
    } else {
        if (opcode_ != kContinuation && opcode_ != kText && opcode_ != kBinary)
            return fail(kProtocolError, "unknown data opcode");
        if (opcode_ == kContinuation && !message_opcode_)
            return fail(kProtocolError, "continuation frame without a message to continue");
        if (opcode_ != kContinuation && message_opcode_)
            return fail(kProtocolError, "new message before the fragmented one ended");
        if (opcode_ != kContinuation) {
            message_opcode_ = opcode_;
            message_.clear();
        }
        if (max_message_ && len > max_message_ - message_.size())
            return fail(kTooBig, "message over --websocket-max-size");
        // a claimed length is not yet data: reserve at most 1 MiB ahead of what arrived
        message_.reserve(message_.size() + size_t(std::min<uint64_t>(len, 1 << 20)));
    }
    in_payload_ = true;
    hdr_len_ = 0;
    hdr_need_ = 2;
    return {};
}

Event Decoder::frame_done() {
    in_payload_ = false;
    Event e;
    if (opcode_ & 0x8) {
        std::string_view payload(reinterpret_cast<const char *>(control_), control_len_);
        if (opcode_ == kPing || opcode_ == kPong) {
            e.kind = opcode_ == kPing ? Event::kPing : Event::kPong;
            e.payload = payload;
            return e;
        }
        e.kind = Event::kClose;
        e.code = 1005;  // no status code present
        if (control_len_ == 1) return fail(kProtocolError, "close frame with a 1-byte payload");
        if (control_len_ >= 2) {
            e.code = uint16_t(control_[0] << 8 | control_[1]);
            if (!close_code_valid(e.code)) return fail(kProtocolError, "invalid close code");
            if (!utf8_valid(control_ + 2, control_len_ - 2))
                return fail(kInvalidPayload, "close reason is not UTF-8");
            e.payload = payload.substr(2);
        }
        return e;
    }
    if (!fin_) return {};
    if (message_opcode_ == kText && !utf8_valid(message_.data(), message_.size()))
        return fail(kInvalidPayload, "text message is not UTF-8");
    e.kind = Event::kMessage;
    e.opcode = message_opcode_;
    e.payload = {reinterpret_cast<const char *>(message_.data()), message_.size()};
    message_opcode_ = 0;
    return e;
}

Event Decoder::next(const uint8_t *&p, const uint8_t *end) {
    while (p < end || (in_payload_ && remaining_ == 0)) {
        if (!in_payload_) {
            while (hdr_len_ < hdr_need_ && p < end) hdr_[hdr_len_++] = *p++;
            if (hdr_len_ < hdr_need_) return {};
            if (hdr_need_ == 2) {
                if (!(hdr_[1] & 0x80)) return fail(kProtocolError, "unmasked client frame");
                uint8_t len7 = hdr_[1] & 0x7F;
                hdr_need_ = 2 + (len7 == 126 ? 2 : len7 == 127 ? 8 : 0) + 4;  // + the mask key
                continue;
            }
            if (Event e = header_done(); e.kind != Event::kNeedMore) return e;
            continue;
        }
        size_t take = size_t(std::min<uint64_t>(remaining_, uint64_t(end - p)));
        uint8_t *dst;
        if (opcode_ & 0x8) {
            dst = control_ + control_len_;
            control_len_ += take;
        } else {
            size_t old = message_.size();
            message_.resize(old + take);
            dst = message_.data() + old;
        }
        unmask(dst, p, take, mask_, mask_pos_);
        mask_pos_ = (mask_pos_ + take) & 3;
        p += take;
        remaining_ -= take;
        if (remaining_ == 0)
            if (Event e = frame_done(); e.kind != Event::kNeedMore) return e;
    }
    return {};
}

size_t encode_header(uint8_t out[10], uint8_t opcode, uint64_t len) {
    out[0] = uint8_t(0x80 | opcode);
    if (len < 126) {
        out[1] = uint8_t(len);
        return 2;
    }
    if (len <= 0xFFFF) {
        out[1] = 126;
        out[2] = uint8_t(len >> 8);
        out[3] = uint8_t(len);
        return 4;
    }
    out[1] = 127;
    for (int k = 0; k < 8; ++k) out[2 + k] = uint8_t(len >> (56 - 8 * k));
    return 10;
}

}  // namespace core::ws
