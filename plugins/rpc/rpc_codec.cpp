#include "rpc_codec.hpp"

namespace rpc::codec {

namespace {

void append_u16(std::string &out, size_t v) {
    out += char(v & 0xff);
    out += char((v >> 8) & 0xff);
}

void append_item(std::string &out, std::string_view s) {
    append_u16(out, s.size());
    out += s;
}

void set_why(std::string *why, std::string text) {
    if (why) *why = std::move(text);
}

}  // namespace

int encode_request(std::string &out, std::string_view name, size_t argc, const uwsgi_str *argv,
                   std::string *why, uint8_t modifier2) {
    if (name.empty() || name.size() > UWSGI_RPC_MAX_NAME) {
        set_why(why, "function name of " + std::to_string(name.size()) +
                         " bytes (must be 1.." + std::to_string(UWSGI_RPC_MAX_NAME) + ")");
        return UWSGI_ELIMIT;
    }
    if (argc > UWSGI_RPC_MAX_ARGS) {
        set_why(why, std::to_string(argc) + " arguments (at most " +
                         std::to_string(UWSGI_RPC_MAX_ARGS) + ")");
        return UWSGI_ELIMIT;
    }
    size_t block = 2 + name.size();
    for (size_t i = 0; i < argc; ++i) {
        if (argv[i].len > kMaxBlock) {
            set_why(why, "argument " + std::to_string(i + 1) + " of " +
                             std::to_string(argv[i].len) + " bytes (at most 65535)");
            return UWSGI_ELIMIT;
        }
        block += 2 + argv[i].len;
    }
    if (block > kMaxBlock) {
        set_why(why, "request of " + std::to_string(block) +
                         " bytes (name and arguments with their 2-byte lengths: at most 65535)");
        return UWSGI_ELIMIT;
    }
    out.clear();
    out.reserve(kHeaderSize + block);
    append_header(out, {kModifier1, uint16_t(block), modifier2});
    append_item(out, name);
    for (size_t i = 0; i < argc; ++i) append_item(out, {argv[i].ptr, argv[i].len});
    return UWSGI_OK;
}

bool decode_items(std::string_view block, std::vector<std::string_view> &items, std::string *why) {
    items.clear();
    size_t i = 0;
    while (i < block.size()) {
        if (items.size() == kMaxItems) {
            set_why(why, "more than " + std::to_string(UWSGI_RPC_MAX_ARGS) + " arguments");
            return false;
        }
        if (block.size() - i < 2) {
            set_why(why, "truncated item length at byte " + std::to_string(i));
            return false;
        }
        size_t len = size_t((unsigned char)block[i]) | (size_t((unsigned char)block[i + 1]) << 8);
        i += 2;
        if (block.size() - i < len) {
            set_why(why, "item " + std::to_string(items.size()) + " of " + std::to_string(len) +
                             " bytes runs past the end of the " + std::to_string(block.size()) +
                             "-byte packet");
            return false;
        }
        items.push_back(block.substr(i, len));
        i += len;
    }
    return true;
}

std::string answer_prefix(uint64_t len) {
    std::string out;
    if (len <= kMaxBlock) {
        append_header(out, {kModifier1, uint16_t(len), kModifier2Framed});
        return out;
    }
    std::string number = std::to_string(len);
    std::string vars;
    append_item(vars, "CONTENT_LENGTH");
    append_item(vars, number);
    append_header(out, {kModifier1, uint16_t(vars.size()), kModifier2Big});
    out += vars;
    return out;
}

bool big_answer_length(std::string_view vars, uint64_t &len, std::string *why) {
    std::string_view value;
    bool found = false;
    bool ok = for_each_var(vars, [&](std::string_view k, std::string_view v) {
        if (k != "CONTENT_LENGTH") return true;
        value = v;
        found = true;
        return false;
    });
    if (!ok) {
        set_why(why, "malformed vars block in a modifier2-5 answer");
        return false;
    }
    if (!found) {
        set_why(why, "modifier2-5 answer without CONTENT_LENGTH");
        return false;
    }
    if (value.empty() || value.size() > 19) {
        set_why(why, "bad CONTENT_LENGTH '" + std::string(value) + "' in a modifier2-5 answer");
        return false;
    }
    uint64_t n = 0;
    for (char c : value) {
        if (c < '0' || c > '9') {
            set_why(why, "bad CONTENT_LENGTH '" + std::string(value) + "' in a modifier2-5 answer");
            return false;
        }
        n = n * 10 + uint64_t(c - '0');
    }
    len = n;
    return true;
}

}  // namespace rpc::codec
