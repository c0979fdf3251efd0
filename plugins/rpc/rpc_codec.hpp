// uWSGI's RPC wire format, kept byte-compatible so upstream servers and clients interoperate.
//
// Request:  header (modifier1 173, LE 16-bit block size, modifier2 0 or 1), then the block: the
//           function name and up to 254 arguments, each an LE 16-bit length and its bytes.
// Answer:   modifier2 0 asked: header (173, result size, 0) + the result, when it fits in 16 bits;
//           larger results: header (173, vars size, 5) + a uwsgi vars block holding CONTENT_LENGTH
//           (decimal) + the raw result. modifier2 1 asked: the raw result alone.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include <uwsgi/packet.hpp>
#include <uwsgi/rpc.h>

namespace rpc::codec {

constexpr uint8_t kModifier1 = 173;
constexpr uint8_t kModifier2Framed = 0;  // answer with a uwsgi header
constexpr uint8_t kModifier2Raw = 1;     // answer with the raw result only
constexpr uint8_t kModifier2Http = 2;    // HTTP bridge: PATH_INFO is /func/arg1/arg2
constexpr uint8_t kModifier2Big = 5;     // answer header: a vars block with CONTENT_LENGTH follows
using uwsgi::packet::append_header;
using uwsgi::packet::decode_header;
using uwsgi::packet::for_each_var;
using uwsgi::packet::Header;
using uwsgi::packet::kHeaderSize;
constexpr size_t kMaxBlock = 0xffff;     // the 16-bit size field
constexpr size_t kMaxItems = 1 + UWSGI_RPC_MAX_ARGS;

// Builds a whole request packet (header + block) into `out`. UWSGI_OK, or UWSGI_ELIMIT with the
// reason in `why` when the name is empty or over 255 bytes, there are over 254 arguments, an
// argument is over 65535 bytes, or the block is over 65535 bytes.
int encode_request(std::string &out, std::string_view name, size_t argc, const uwsgi_str *argv,
                   std::string *why, uint8_t modifier2 = kModifier2Framed);

// Splits a request block into its items (name first). false with the reason in `why` when an
// item runs past the end of the block or there are more than 255 items. Empty items are kept.
bool decode_items(std::string_view block, std::vector<std::string_view> &items, std::string *why);

// The bytes an answer to a modifier2-0 request starts with, for a result of `len` bytes.
std::string answer_prefix(uint64_t len);

// CONTENT_LENGTH out of the vars block of a modifier2-5 answer. false when the block is malformed
// or the var is missing or not a decimal number.
bool big_answer_length(std::string_view vars, uint64_t &len, std::string *why);

}  // namespace rpc::codec
