#include "mime_types.hpp"

#include <algorithm>
#include <fstream>
#include <sstream>

namespace core {

bool MimeTypes::load(const std::string &path) {
    std::ifstream in(path);
    if (!in) return false;
    std::string line;
    while (std::getline(in, line)) {
        auto hash = line.find('#');
        if (hash != std::string::npos) line.resize(hash);
        std::istringstream words(line);
        std::string type, ext;
        if (!(words >> type)) continue;
        while (words >> ext) by_ext_.emplace_back(ext, type);
    }
    // stable: the first file (and line) naming an extension wins
    std::stable_sort(by_ext_.begin(), by_ext_.end(),
                     [](const auto &a, const auto &b) { return a.first < b.first; });
    return true;
}

std::string_view MimeTypes::lookup(std::string_view filename) const {
    auto dot = filename.rfind('.');
    auto slash = filename.rfind('/');
    if (dot == std::string_view::npos || (slash != std::string_view::npos && dot < slash))
        return {};
    std::string_view ext = filename.substr(dot + 1);
    auto it = std::lower_bound(by_ext_.begin(), by_ext_.end(), ext,
                               [](const auto &e, std::string_view k) { return e.first < k; });
    if (it == by_ext_.end() || it->first != ext) return {};
    return it->second;
}

}  // namespace core
