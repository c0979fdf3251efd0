#include "cache_spec.hpp"

#include <charconv>
#include <vector>

namespace cache {

namespace {

// uWSGI's spellings of each key (core/cache.c); unsupported uWSGI keys are refused by name.
enum class Key { name, items, blocksize, blocks, keysize, purge_lru, ignore_full, store,
                 store_sync, math_initial, hash, hashsize, sweep_on_full, clear_on_full,
                 no_expire, lazy_expire, store_delete, unsupported, unknown };

// uWSGI keys of features this server does not have, and what to do instead.
const char *unsupported_why(std::string_view k) {
    if (k == "bitmap")
        return "values spanning several blocks are not supported: set blocksize to the largest "
               "value";
    if (k == "lastmod")
        return "Last-Modified tracking serves uWSGI's cache router, which this server has not";
    if (k == "node" || k == "nodes" || k == "sync" || k == "udp" || k == "udp_servers" ||
        k == "udp_server" || k == "udpservers" || k == "udpserver")
        return "UDP replication between instances is not supported: reach another instance's "
               "cache as name@host:port instead";
    return nullptr;
}

Key key_of(std::string_view k) {
    if (k == "name") return Key::name;
    if (k == "items" || k == "max_items" || k == "maxitems") return Key::items;
    if (k == "blocksize") return Key::blocksize;
    if (k == "blocks") return Key::blocks;
    if (k == "keysize" || k == "key_size") return Key::keysize;
    if (k == "purge_lru" || k == "lru") return Key::purge_lru;
    if (k == "ignore_full") return Key::ignore_full;
    if (k == "store") return Key::store;
    if (k == "store_sync" || k == "storesync") return Key::store_sync;
    if (k == "math_initial") return Key::math_initial;
    if (k == "hash") return Key::hash;
    if (k == "hashsize" || k == "hash_size") return Key::hashsize;
    if (k == "sweep_on_full") return Key::sweep_on_full;
    if (k == "clear_on_full") return Key::clear_on_full;
    if (k == "no_expire") return Key::no_expire;
    if (k == "lazy_expire" || k == "lazy") return Key::lazy_expire;
    if (k == "store_delete" || k == "storedelete") return Key::store_delete;
    if (unsupported_why(k)) return Key::unsupported;
    return Key::unknown;
}

bool flag_value(std::string_view v) { return !(v == "0" || v == "false" || v == "no" || v == "off"); }

}  // namespace

bool parse_number(std::string_view text, uint64_t min, uint64_t max, uint64_t &out) {
    uint64_t n = 0;
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), n);
    if (text.empty() || ec != std::errc() || end != text.data() + text.size()) return false;
    if (n < min || n > max) return false;
    out = n;
    return true;
}

bool parse_cache2(std::string_view text, Spec &out, std::string &why) {
    Spec s;
    bool have_name = false, have_items = false;
    auto fail = [&](const std::string &msg) {
        why = "--cache2 '" + std::string(text) + "': " + msg;
        return false;
    };
    size_t i = 0;
    while (i <= text.size()) {
        size_t comma = text.find(',', i);
        if (comma == std::string_view::npos) comma = text.size();
        std::string_view item = text.substr(i, comma - i);
        i = comma + 1;
        if (item.empty()) {
            if (comma == text.size()) break;
            return fail("empty item between commas");
        }
        size_t eq = item.find('=');
        if (eq == std::string_view::npos)
            return fail("'" + std::string(item) + "' is not key=value");
        std::string_view k = item.substr(0, eq), v = item.substr(eq + 1);
        std::string key(k);
        auto number = [&](uint64_t min, uint64_t max, uint64_t &dst) {
            if (parse_number(v, min, max, dst)) return true;
            why = "--cache2 '" + std::string(text) + "': " + key + " must be a whole number from " +
                  std::to_string(min) + " to " + std::to_string(max) + ", got '" + std::string(v) +
                  "'";
            return false;
        };
        switch (key_of(k)) {
            case Key::name:
                if (v.empty() || v.find('@') != std::string_view::npos)
                    return fail("name must be non-empty and without '@' (name@host:port names a "
                                "remote cache)");
                s.name = std::string(v);
                have_name = true;
                break;
            case Key::items:
                if (!number(1, uint64_t(1) << 31, s.items)) return false;
                have_items = true;
                break;
            case Key::blocksize:
                if (!number(1, uint64_t(1) << 31, s.blocksize)) return false;
                break;
            case Key::blocks:
                if (!number(1, uint64_t(1) << 31, s.blocks)) return false;
                break;
            case Key::keysize:
                if (!number(1, 65535, s.keysize)) return false;
                break;
            case Key::purge_lru: s.purge_lru = flag_value(v); break;
            case Key::ignore_full: s.ignore_full = flag_value(v); break;
            case Key::store:
                if (v.empty()) return fail("store needs a file name");
                s.store = std::string(v);
                break;
            case Key::store_sync:
                if (!number(0, 86400, s.store_sync)) return false;
                break;
            case Key::math_initial: {
                int64_t n = 0;
                auto [end, ec] = std::from_chars(v.data(), v.data() + v.size(), n);
                if (v.empty() || ec != std::errc() || end != v.data() + v.size())
                    return fail("math_initial must be a whole number, got '" + std::string(v) + "'");
                s.math_initial = n;
                break;
            }
            case Key::hash:
                // uWSGI's two algorithms only spread keys over buckets; one is used for both
                if (v != "djb33x" && v != "murmur2")
                    return fail("hash must be djb33x or murmur2, got '" + std::string(v) + "'");
                break;
            case Key::hashsize:
                if (!number(1, uint64_t(1) << 31, s.hashsize)) return false;
                break;
            case Key::sweep_on_full:
                if (!number(0, 86400, s.sweep_on_full)) return false;
                break;
            case Key::clear_on_full: s.clear_on_full = flag_value(v); break;
            case Key::no_expire: s.no_expire = flag_value(v); break;
            case Key::lazy_expire: s.lazy_expire = flag_value(v); break;
            case Key::store_delete: s.store_delete = flag_value(v); break;
            case Key::unsupported:
                return fail(key + ": " + unsupported_why(k));
            case Key::unknown:
                return fail("unknown key '" + key +
                            "' (known: name, items, blocksize, blocks, keysize, hash, hashsize, "
                            "purge_lru, ignore_full, sweep_on_full, clear_on_full, no_expire, "
                            "lazy_expire, store, store_sync, store_delete, math_initial)");
        }
    }
    if (!have_name) return fail("a cache needs a name: add name=NAME");
    if (!have_items) return fail("a cache needs its number of items: add items=N");
    if (s.blocks && s.blocks < s.items)
        return fail("blocks (" + std::to_string(s.blocks) + ") must be at least items (" +
                    std::to_string(s.items) + ")");
    if (s.items * (s.blocksize + s.keysize + 128) > (uint64_t(1) << 40))
        return fail("items x (blocksize + keysize) is over 1 TiB; lower items or blocksize");
    out = std::move(s);
    return true;
}

}  // namespace cache
