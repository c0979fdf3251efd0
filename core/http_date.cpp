#include "http_date.hpp"

#include <cstdio>
#include <cstring>

namespace core {

static const char kDays[7][4] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
static const char kMonths[12][4] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                    "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};

size_t format_http_date(time_t t, char out[kHttpDateLen + 1]) {
    tm g{};
    gmtime_r(&t, &g);
    int n = std::snprintf(out, kHttpDateLen + 1, "%s, %02d %s %04d %02d:%02d:%02d GMT",
                          kDays[g.tm_wday % 7], g.tm_mday, kMonths[g.tm_mon % 12],
                          g.tm_year + 1900, g.tm_hour, g.tm_min, g.tm_sec);
    return n == int(kHttpDateLen) ? kHttpDateLen : 0;
}

static bool digits(std::string_view s, size_t at, size_t n, int &v) {
    v = 0;
    for (size_t i = at; i < at + n; ++i) {
        if (s[i] < '0' || s[i] > '9') return false;
        v = v * 10 + (s[i] - '0');
    }
    return true;
}

time_t parse_http_date(std::string_view s) {
    // "Sun, 06 Nov 1994 08:49:37 GMT"
    if (s.size() != kHttpDateLen || s[3] != ',' || s[4] != ' ' || s[7] != ' ' || s[11] != ' ' ||
        s[16] != ' ' || s[19] != ':' || s[22] != ':' || s.substr(25) != " GMT")
        return -1;
    tm t{};
    t.tm_mon = -1;
    for (int m = 0; m < 12; ++m)
        if (s.substr(8, 3) == kMonths[m]) t.tm_mon = m;
    int year = 0;
    if (t.tm_mon < 0 || !digits(s, 5, 2, t.tm_mday) || !digits(s, 12, 4, year) ||
        !digits(s, 17, 2, t.tm_hour) || !digits(s, 20, 2, t.tm_min) ||
        !digits(s, 23, 2, t.tm_sec))
        return -1;
    if (t.tm_mday < 1 || t.tm_mday > 31 || t.tm_hour > 23 || t.tm_min > 59 || t.tm_sec > 60)
        return -1;
    t.tm_year = year - 1900;
    return timegm(&t);
}

}  // namespace core
