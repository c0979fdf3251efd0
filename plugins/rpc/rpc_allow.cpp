#include "rpc_allow.hpp"

#include <arpa/inet.h>
#include <cstring>

namespace rpc {

namespace {

// Parses a numeric address; an IPv4-mapped IPv6 address counts as the IPv4 one.
bool parse_address(std::string_view text, bool &v6, std::array<uint8_t, 16> &out) {
    std::string s(text);
    out.fill(0);
    if (inet_pton(AF_INET, s.c_str(), out.data()) == 1) {
        v6 = false;
        return true;
    }
    if (inet_pton(AF_INET6, s.c_str(), out.data()) != 1) return false;
    static const uint8_t mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    if (std::memcmp(out.data(), mapped, 12) == 0) {
        std::memmove(out.data(), out.data() + 12, 4);
        std::memset(out.data() + 4, 0, 12);
        v6 = false;
        return true;
    }
    v6 = true;
    return true;
}

bool same_prefix(const std::array<uint8_t, 16> &a, const std::array<uint8_t, 16> &b, int bits) {
    int full = bits / 8, rest = bits % 8;
    if (std::memcmp(a.data(), b.data(), size_t(full)) != 0) return false;
    if (!rest) return true;
    uint8_t mask = uint8_t(0xff << (8 - rest));
    return (a[size_t(full)] & mask) == (b[size_t(full)] & mask);
}

}  // namespace

bool AllowList::add(std::string_view spec, std::string &why) {
    Net n{};
    std::string_view addr = spec, bits_text;
    if (auto slash = spec.find('/'); slash != std::string_view::npos) {
        addr = spec.substr(0, slash);
        bits_text = spec.substr(slash + 1);
    }
    if (!parse_address(addr, n.v6, n.addr)) {
        why = "--rpc-allow " + std::string(spec) + ": not a numeric IPv4 or IPv6 address";
        return false;
    }
    int max = n.v6 ? 128 : 32;
    n.bits = max;
    if (!bits_text.empty() || spec.find('/') != std::string_view::npos) {
        int v = 0;
        bool ok = !bits_text.empty() && bits_text.size() <= 3;
        for (char c : bits_text) ok = ok && c >= '0' && c <= '9' && (v = v * 10 + (c - '0')) >= 0;
        if (!ok || v > max) {
            why = "--rpc-allow " + std::string(spec) + ": prefix length must be 0.." +
                  std::to_string(max);
            return false;
        }
        n.bits = v;
    }
    nets_.push_back(n);
    return true;
}

bool AllowList::allows(std::string_view peer) const {
    if (nets_.empty() || peer.empty()) return true;
    bool v6;
    std::array<uint8_t, 16> a;
    if (!parse_address(peer, v6, a)) return false;
    for (const Net &n : nets_)
        if (n.v6 == v6 && same_prefix(n.addr, a, n.bits)) return true;
    return false;
}

}  // namespace rpc
