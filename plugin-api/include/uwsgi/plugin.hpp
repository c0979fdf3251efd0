// C++ conveniences over plugin.h for plugins written in C++. Not part of the ABI: everything
// here is inline and compiles into the plugin, so the core never sees a C++ type.
#pragma once

#include <uwsgi/plugin.h>

#include <string_view>

namespace uwsgi {

inline std::string_view view(uwsgi_str s) { return {s.ptr, s.len}; }
inline uwsgi_str str(std::string_view s) { return {s.data(), s.size()}; }

// The host table a plugin received in init(); one per plugin image.
class Host {
public:
    static void set(const uwsgi_host *h) { instance() = h; }
    static const uwsgi_host &get() { return *instance(); }

private:
    static const uwsgi_host *&instance() {
        static const uwsgi_host *h = nullptr;
        return h;
    }
};

inline void log(int level, const char *plugin, std::string_view msg) {
    Host::get().log(level, plugin, msg.data(), msg.size());
}

// The value of a request var, empty when absent.
inline std::string_view var(const uwsgi_request *req, std::string_view key) {
    uwsgi_str v{nullptr, 0};
    if (Host::get().req_var(req, key.data(), key.size(), &v) != UWSGI_OK) return {};
    return view(v);
}

}  // namespace uwsgi
