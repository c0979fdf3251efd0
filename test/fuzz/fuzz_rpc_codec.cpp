// libFuzzer target: uWSGI's RPC wire format. The input is read as a request block (decoded
// items must re-encode to the same packet), as the vars block of a big answer, and its first
// bytes as a result length whose answer prefix must decode back to that length.
#include "rpc_codec.hpp"

#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

using namespace rpc::codec;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size > kMaxBlock) return 0;
    std::string_view block(reinterpret_cast<const char *>(data), size);

    std::vector<std::string_view> items;
    std::string why;
    if (decode_items(block, items, &why)) {
        if (items.size() > kMaxItems) abort();
        if (!items.empty() && !items[0].empty() && items[0].size() <= UWSGI_RPC_MAX_NAME) {
            std::vector<uwsgi_str> args;
            for (size_t i = 1; i < items.size(); ++i) args.push_back({items[i].data(), items[i].size()});
            std::string packet;
            if (encode_request(packet, items[0], args.size(), args.data(), &why) != UWSGI_OK)
                abort();  // it decoded, so it fits
            Header h = decode_header(reinterpret_cast<const unsigned char *>(packet.data()));
            if (h.modifier1 != kModifier1 || h.size != size || packet.substr(kHeaderSize) != block)
                abort();
        }
    } else if (why.empty()) {
        abort();  // a refusal always says why
    }

    uint64_t len = 0;
    why.clear();
    if (!big_answer_length(block, len, &why) && why.empty()) abort();

    if (size >= 8) {
        std::memcpy(&len, data, 8);
        len >>= data[0] % 64;  // short and long results alike
        len %= 1000000000000000000ull;  // big_answer_length reads at most 19 digits
        std::string prefix = answer_prefix(len);
        if (prefix.size() < kHeaderSize) abort();
        Header h = decode_header(reinterpret_cast<const unsigned char *>(prefix.data()));
        if (len <= kMaxBlock) {
            if (h.size != len || h.modifier2 != kModifier2Framed || prefix.size() != kHeaderSize)
                abort();
        } else {
            uint64_t back = 0;
            if (h.modifier2 != kModifier2Big || h.size != prefix.size() - kHeaderSize ||
                !big_answer_length(std::string_view(prefix).substr(kHeaderSize), back, nullptr) ||
                back != len)
                abort();
        }
    }
    return 0;
}
