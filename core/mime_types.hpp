// Content types of static files by extension, read once at start-up from mime.types files
// (/etc/mime.types from Debian's media-types by default, --mimefile to choose), as uWSGI does.
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace core {

class MimeTypes {
public:
    // Adds every "type ext ext..." line of the file; false when it cannot be read.
    bool load(const std::string &path);
    // The type for the extension of `filename` (after its last '.', case-sensitive as uWSGI),
    // or "" when unknown. No allocation.
    std::string_view lookup(std::string_view filename) const;
    size_t size() const { return by_ext_.size(); }

private:
    std::vector<std::pair<std::string, std::string>> by_ext_;  // sorted by extension
};

}  // namespace core
