// The Range request header (RFC 9110 14.2) for static files: one byte range; several ranges or
// another unit are ignored (the whole file is served, as the RFC allows). No allocation.
#pragma once

#include <cstdint>
#include <string_view>

namespace core {

struct ByteRange {
    enum Kind { none, satisfiable, unsatisfiable } kind = none;
    int64_t first = 0, last = 0;  // inclusive, within [0, size) when satisfiable
};

// `header` is the Range value ("bytes=0-99", "bytes=100-", "bytes=-500"); size the file's.
ByteRange parse_byte_range(std::string_view header, int64_t size);

}  // namespace core
