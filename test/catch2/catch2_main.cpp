// Catch2's main, compiled once and linked into every unit test binary (the core's, the http
// plugin's, the rpc plugin's): compiling Catch2's implementation is the slowest step of the build.
#define CATCH_CONFIG_MAIN
#include <catch2/catch.hpp>
