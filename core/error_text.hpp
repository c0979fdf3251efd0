// An error message copied into a plugin's buffer (host services that report failures as text).
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstring>
#include <string>

namespace core {

// NUL-terminated, cut to error_size; nothing when the plugin gave no buffer.
inline void copy_error_text(const std::string &text, char *error, size_t error_size) {
    if (!error || error_size == 0) return;
    size_t n = std::min(text.size(), error_size - 1);
    std::memcpy(error, text.data(), n);
    error[n] = '\0';
}

}  // namespace core
