// XML config files through expat (Debian's libexpat: small, streaming, maintained, and what
// uWSGI itself can build with): order and repeated elements come out as written.
#include "config.hpp"
#include "config_formats.hpp"

#include <expat.h>
#include <fmt/format.h>

#include <cstring>
#include <memory>

namespace core {
namespace {

constexpr const char *kWrapper = "uwsgi-config-document";

struct XmlState {
    XML_Parser parser;
    std::string id;
    int depth = 0;            // 1: a <uwsgi> root (inside our wrapper), 2: an option element
    bool in_section = false;  // inside the <uwsgi> that was asked for
    bool found = false;
    std::string key, text;
    int line = 0;
    std::vector<SectionLine> out;
};

std::string trim(const std::string &s) {
    size_t b = s.find_first_not_of(" \t\r\n");
    if (b == std::string::npos) return {};
    return s.substr(b, s.find_last_not_of(" \t\r\n") - b + 1);
}

void XMLCALL on_start(void *data, const XML_Char *name, const XML_Char **attrs) {
    auto *st = static_cast<XmlState *>(data);
    ++st->depth;
    if (st->depth == 2) {  // a root element of the file
        std::string id;
        for (int i = 0; attrs[i]; i += 2)
            if (!strcmp(attrs[i], "id")) id = attrs[i + 1];
        st->in_section = !strcmp(name, "uwsgi") && !st->found && (st->id.empty() || id == st->id);
        st->found = st->found || st->in_section;
    } else if (st->depth == 3 && st->in_section) {
        st->key = name;
        st->text.clear();
        st->line = int(XML_GetCurrentLineNumber(st->parser));
    }
}

void XMLCALL on_text(void *data, const XML_Char *s, int len) {
    auto *st = static_cast<XmlState *>(data);
    if (st->depth == 3 && st->in_section) st->text.append(s, size_t(len));
}

void XMLCALL on_end(void *data, const XML_Char *) {
    auto *st = static_cast<XmlState *>(data);
    if (st->depth == 3 && st->in_section) {
        std::string value = trim(st->text);
        st->out.push_back({st->key, value.empty() ? "1" : value, st->line});
    }
    if (st->depth == 2) st->in_section = false;
    --st->depth;
}

}  // namespace

std::vector<SectionLine> parse_xml_section(const std::string &text, const std::string &path,
                                           const std::string &id) {
    // Several <uwsgi id="..."> roots may follow each other (uWSGI reads such files): they go
    // inside a wrapper element, after the XML declaration if there is one (same line, so line
    // numbers stay true).
    std::string decl;
    size_t start = text.find_first_not_of(" \t\r\n");
    if (start != std::string::npos && text.compare(start, 5, "<?xml") == 0) {
        size_t end = text.find("?>", start);
        if (end != std::string::npos) decl = text.substr(0, end + 2);
    }
    std::string doc = decl + "<" + kWrapper + ">" + text.substr(decl.size()) + "</" + kWrapper + ">";

    XmlState st;
    st.id = id;
    std::unique_ptr<XML_ParserStruct, void (*)(XML_Parser)> parser(XML_ParserCreate(nullptr),
                                                                   XML_ParserFree);
    st.parser = parser.get();
    XML_SetUserData(parser.get(), &st);
    XML_SetElementHandler(parser.get(), on_start, on_end);
    XML_SetCharacterDataHandler(parser.get(), on_text);
    if (XML_Parse(parser.get(), doc.data(), int(doc.size()), 1) == XML_STATUS_ERROR)
        throw ConfigError(fmt::format("{}:{}: malformed XML: {}", path,
                                      XML_GetCurrentLineNumber(parser.get()),
                                      XML_ErrorString(XML_GetErrorCode(parser.get()))));
    if (!st.found)
        throw ConfigError(id.empty() ? fmt::format("xml file '{}' has no <uwsgi> element", path)
                                     : fmt::format("xml file '{}' has no <uwsgi id=\"{}\"> element",
                                                   path, id));
    return st.out;
}

}  // namespace core
