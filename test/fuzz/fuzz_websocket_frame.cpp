// libFuzzer target: the WebSocket frame decoder (core/websocket_frame.cpp) on what a client may
// send after the handshake. The first byte picks how the rest is cut into reads; the events must
// be the same as when it arrives whole, every message within the size limit, every text message
// and close reason UTF-8.
#include "websocket_frame.hpp"

#include <cstdlib>
#include <string>
#include <vector>

using namespace core::ws;

namespace {

constexpr size_t kMax = 4096;

std::vector<std::string> decode(const uint8_t *data, size_t size, size_t step) {
    Decoder d;
    d.reset(kMax);
    std::vector<std::string> events;
    size_t at = 0;
    while (at < size) {
        size_t n = std::min(step, size - at);
        const uint8_t *p = data + at, *end = p + n;
        while (p < end) {
            Event e = d.next(p, end);
            if (p > end) abort();
            if (e.kind == Event::kNeedMore) break;
            if (e.kind == Event::kMessage) {
                if (e.payload.size() > kMax) abort();
                if (e.opcode == kText &&
                    !utf8_valid(reinterpret_cast<const uint8_t *>(e.payload.data()),
                                e.payload.size()))
                    abort();
            }
            if (e.kind == Event::kClose && !close_code_valid(e.code) && e.code != 1005) abort();
            events.push_back(std::to_string(int(e.kind)) + ":" + std::to_string(e.code) + ":" +
                             std::string(e.payload));
            if (e.kind == Event::kError) return events;  // the connection ends there
        }
        at += n;
    }
    return events;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 1) return 0;
    size_t step = size_t(data[0] % 17) + 1;
    if (decode(data + 1, size - 1, size) != decode(data + 1, size - 1, step)) abort();
    return 0;
}
