// uWSGI's magic variables (%d %p %s %n %e %c %x %o %h %v %k ...), substituted in the text of
// a config file as it is read. The upper-case forms (%D %P ...) keep the first file's values.
#pragma once

#include <map>
#include <string>

namespace core {

class MagicVars {
public:
    // Values for the file at `path` (as given) and `section`.
    void enter_file(const std::string &path, const std::string &section);
    // "%X" becomes X's value; "%%" a '%'; "%(" stays (a placeholder, resolved later); an unknown
    // letter stays as written (uWSGI blanks it; keeping it shows the mistake in --show-config).
    std::string substitute(const std::string &text) const;

private:
    std::map<char, std::string> vars_;
    std::map<char, std::string> first_;  // the first file's, for the upper-case forms
    bool first_done_ = false;
};

}  // namespace core
