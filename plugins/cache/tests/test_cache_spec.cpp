#include "../cache_spec.hpp"

#include <catch2/catch.hpp>

using cache::parse_cache2;
using cache::Spec;

TEST_CASE("--cache2: uWSGI's keys and defaults") {
    Spec s;
    std::string why;
    REQUIRE(parse_cache2("name=a,items=10", s, why));
    CHECK(s.name == "a");
    CHECK(s.items == 10);
    CHECK(s.blocksize == 65536);
    CHECK(s.keysize == 2048);
    CHECK_FALSE(s.purge_lru);
    REQUIRE(parse_cache2("name=b,maxitems=4,blocksize=100,blocks=8,key_size=16,lru=1,"
                         "ignore_full=1,store=/tmp/x,storesync=2,math_initial=-5",
                         s, why));
    CHECK(s.items == 4);
    CHECK(s.blocksize == 100);
    CHECK(s.blocks == 8);
    CHECK(s.keysize == 16);
    CHECK(s.purge_lru);
    CHECK(s.ignore_full);
    CHECK(s.store == "/tmp/x");
    CHECK(s.store_sync == 2);
    CHECK(s.math_initial == -5);
}

TEST_CASE("--cache2: bad input is refused, naming the key") {
    Spec s;
    std::string why;
    CHECK_FALSE(parse_cache2("name=a,items=10,colour=red", s, why));
    CHECK(why.find("unknown key 'colour'") != std::string::npos);
    CHECK_FALSE(parse_cache2("name=a,items=ten", s, why));
    CHECK(why.find("items must be a whole number") != std::string::npos);
    CHECK_FALSE(parse_cache2("items=10", s, why));
    CHECK(why.find("name=NAME") != std::string::npos);
    CHECK_FALSE(parse_cache2("name=a", s, why));
    CHECK(why.find("items=N") != std::string::npos);
    CHECK_FALSE(parse_cache2("name=a,items=10,blocks=5", s, why));
    CHECK(why.find("blocks (5) must be at least items (10)") != std::string::npos);
    CHECK_FALSE(parse_cache2("name=a,items", s, why));
    CHECK(why.find("'items' is not key=value") != std::string::npos);
    CHECK_FALSE(parse_cache2("name=a@b,items=1", s, why));
    CHECK_FALSE(parse_cache2("name=a,items=0", s, why));
}

TEST_CASE("--cache2: uWSGI's full, expiry and store keys") {
    Spec s;
    std::string why;
    REQUIRE(parse_cache2("name=a,items=10,hash=murmur2,hash_size=100,sweep_on_full=5,"
                         "clear_on_full=1,no_expire=1,lazy=1,storedelete=1",
                         s, why));
    CHECK(s.hashsize == 100);
    CHECK(s.sweep_on_full == 5);
    CHECK(s.clear_on_full);
    CHECK(s.no_expire);
    CHECK(s.lazy_expire);
    CHECK(s.store_delete);
    CHECK_FALSE(parse_cache2("name=a,items=10,hash=md5", s, why));
    CHECK(why.find("hash must be djb33x or murmur2") != std::string::npos);
    CHECK_FALSE(parse_cache2("name=a,items=10,bitmap=1", s, why));
    CHECK(why.find("bitmap: values spanning several blocks") != std::string::npos);
    CHECK_FALSE(parse_cache2("name=a,items=10,nodes=127.0.0.1:3000", s, why));
    CHECK(why.find("name@host:port") != std::string::npos);
}
