// cachedemo: a native plugin that uses the "uwsgi.cache/1" extension the way any plugin would, so
// the tests can show a C++ plugin and a PyPy app sharing one cache. Handles modifier1 120:
//   PATH_INFO /get/KEY          200 with the value, 404 when absent
//   PATH_INFO /set/KEY/VALUE    200 "stored" (cache_update), 507 when refused
//   PATH_INFO /num/KEY          200 with the 64-bit number a cache_inc left
// QUERY_STRING names the cache (empty: the default one).
#include <uwsgi/cache.h>
#include <uwsgi/plugin.hpp>

#include <string>
#include <vector>

namespace {

const uwsgi_host *host = nullptr;
const uwsgi_cache_api *api = nullptr;

int request(uwsgi_request *req) {
    std::string_view path = uwsgi::var(req, "PATH_INFO");
    std::string cache(uwsgi::var(req, "QUERY_STRING"));
    int32_t id = api ? api->lookup(cache.c_str()) : UWSGI_ERROR;
    if (id < 0) return uwsgi::respond(*host, req, "404 Not Found", "no such cache\n");
    std::vector<std::string_view> parts;
    for (size_t i = 1; i <= path.size();) {
        size_t end = path.find('/', i);
        if (end == std::string_view::npos) end = path.size();
        parts.push_back(path.substr(i, end - i));
        i = end + 1;
    }
    if (parts.size() == 2 && parts[0] == "get") {
        std::string value(256, '\0');
        int64_t n = api->get(id, parts[1].data(), parts[1].size(), value.data(), value.size());
        if (n > int64_t(value.size())) {  // larger than the first guess: read it again
            value.resize(size_t(n));
            n = api->get(id, parts[1].data(), parts[1].size(), value.data(), value.size());
        }
        if (n < 0) return uwsgi::respond(*host, req, "404 Not Found", "");
        value.resize(size_t(n));
        return uwsgi::respond(*host, req, "200 OK", value, "application/octet-stream");
    }
    if (parts.size() == 3 && parts[0] == "set") {
        int rc = api->set(id, parts[1].data(), parts[1].size(), parts[2].data(), parts[2].size(),
                          0, UWSGI_CACHE_UPDATE);
        return rc == UWSGI_OK ? uwsgi::respond(*host, req, "200 OK", "stored")
                              : uwsgi::respond(*host, req, "507 Insufficient Storage", "");
    }
    if (parts.size() == 2 && parts[0] == "num") {
        int64_t n = 0;
        if (api->get(id, parts[1].data(), parts[1].size(), &n, sizeof n) != 8) n = 0;
        return uwsgi::respond(*host, req, "200 OK", std::to_string(n));
    }
    return uwsgi::respond(*host, req, "400 Bad Request", "use /get/KEY, /set/KEY/VALUE, /num/KEY\n");
}

int init(const uwsgi_host *h) {
    host = h;
    uwsgi::Host::set(h);
    api = static_cast<const uwsgi_cache_api *>(h->get_extension(UWSGI_CACHE_EXTENSION));
    if (!api || api->struct_size < sizeof(uwsgi_cache_api)) {
        const char msg[] = "no plugin offers uwsgi.cache/1 (install the cache plugin)";
        h->log(UWSGI_LOG_ERROR, "cachedemo", msg, sizeof msg - 1);
        return 1;
    }
    return 0;
}

const uwsgi_plugin descriptor = {
    UWSGI_PLUGIN_HEADER_FIELDS,
    .name = "cachedemo",
    .version = "1.0.0",
    .description = "native cache demo (modifier1 120): /get/KEY, /set/KEY/VALUE, /num/KEY",
    .init = init,
    .modifier1 = 120,
    .request = request,
};

}  // namespace

UWSGI_PLUGIN_EXPORT(cachedemo, descriptor)
