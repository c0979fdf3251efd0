// --rpc-allow: which peers may call this node's RPC functions remotely (over --socket or the
// HTTP bridge). Without the option every peer may: uWSGI's behaviour. Pure: no I/O.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace rpc {

class AllowList {
public:
    // Adds "ADDR" or "ADDR/BITS" (IPv4 or IPv6); false with why set when it is not one.
    bool add(std::string_view spec, std::string &why);
    bool empty() const { return nets_.empty(); }
    // Whether a peer (its numeric address as the core reports it) may call. UNIX-socket peers
    // (no address) always may: the socket file's permissions decide who reaches them.
    bool allows(std::string_view peer) const;

private:
    struct Net {
        bool v6;
        std::array<uint8_t, 16> addr;
        int bits;
    };
    std::vector<Net> nets_;
};

}  // namespace rpc
