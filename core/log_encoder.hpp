// uWSGI's log encoders (--log-encoder / --log-req-encoder): each log line passes through the
// chain before a logger writes it. `prefix TEXT`, `suffix TEXT`, `nl`, `format TEMPLATE` and
// `json TEMPLATE`, the templates with uWSGI's ${msg} ${msgnl} ${unix} ${micros} ${millis}
// ${strftime:FMT}; `NAME:ID ...` applies the encoder to the logger named ID only.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace core {

class LogEncoder {
public:
    // Throws ConfigError naming the option on an unknown encoder or ${variable}
    // (uWSGI writes nothing for an unknown variable; a typo here is a start-up error).
    static LogEncoder parse(const std::string &spec, const char *option);

    // Whether this encoder applies to a line for the logger `id` ("" = unnamed or raw):
    // uWSGI runs an encoder with `:ID` for that named logger only.
    bool applies_to(std::string_view id) const { return use_for_.empty() || use_for_ == id; }
    // Appends msg, encoded, to out.
    void encode(std::string_view msg, std::string &out) const;

private:
    enum class Kind { Prefix, Suffix, Nl, Format, Json };
    struct Part {
        bool variable;
        std::string text;  // literal text, or the variable's name
    };
    void append_variable(const Part &p, std::string_view msg, std::string &out) const;

    Kind kind_ = Kind::Nl;
    std::string use_for_;
    std::string args_;
    std::vector<Part> parts_;
};

}  // namespace core
