/*
 * The caching framework, extension id "uwsgi.cache/1", offered by the cache plugin to every other
 * plugin through host->get_extension(UWSGI_CACHE_EXTENSION). The caches (--cache2, --cache) live
 * in shared memory created by the master before fork: every worker, thread and plugin sees the
 * same items. Same rules as plugin.h: C types only, struct_size first, append-only; an
 * incompatible change gets a new id ("uwsgi.cache/2").
 *
 * A cache is named by its id, from lookup(); every call is safe from any process and thread.
 * Keys and values are bytes (not NUL-terminated). Expiry: seconds from now, 0 never.
 *
 * History:
 *   uwsgi.cache/1  2026-11-30  lookup, get, set/update, remove, exists, clear, math, key_at, info
 *                              (uwsgi_cache_info with hashsize, for the stats server).
 */
#ifndef UWSGI_CACHE_H
#define UWSGI_CACHE_H

#include <uwsgi/plugin.h>

#ifdef __cplusplus
extern "C" {
#endif

#define UWSGI_CACHE_EXTENSION "uwsgi.cache/1"

/* set() flags */
#define UWSGI_CACHE_UPDATE 1u /* replace an existing item (uWSGI's cache_update) */

/* math() operations */
#define UWSGI_CACHE_INC 1
#define UWSGI_CACHE_DEC 2
#define UWSGI_CACHE_MUL 3
#define UWSGI_CACHE_DIV 4

/* A cache's limits and counters, filled by info(). */
typedef struct uwsgi_cache_info {
    uint32_t struct_size; /* set by the caller; the plugin fills what fits */
    uint32_t reserved;
    const char *name;     /* valid for the whole process */
    uint64_t max_items;
    uint64_t blocksize;   /* the largest value */
    uint64_t keysize;     /* the longest key */
    uint64_t items;       /* items stored now */
    uint64_t hits;
    uint64_t misses;
    uint64_t full;        /* sets refused (or evictions, with purge_lru) because it was full */
    uint32_t purge_lru;   /* 1: the least recently used item is evicted when full */
    uint32_t reserved2;
    uint64_t hashsize;    /* buckets of its hash table */
} uwsgi_cache_info;

typedef struct uwsgi_cache_api {
    uint32_t struct_size;
    uint32_t reserved;
    /* The id of cache `name`; NULL or "" is the default cache (--cache, else the first --cache2).
     * UWSGI_ERROR when there is no such cache (not logged). */
    int32_t (*lookup)(const char *name);
    /* The value's length, its bytes copied to buf when it fits in buflen (nothing copied
     * otherwise: call again with a buffer that large). UWSGI_ERROR: no such key (or expired). */
    int64_t (*get)(int32_t cache, const char *key, size_t keylen, void *buf, size_t buflen);
    /* Stores a value. Without UWSGI_CACHE_UPDATE only when the key is absent. UWSGI_OK; UWSGI_ERROR
     * when the key exists (no UPDATE); UWSGI_ELIMIT for an empty or too long key or value, or a
     * full cache without purge_lru. */
    int (*set)(int32_t cache, const char *key, size_t keylen, const void *value, size_t len,
               uint64_t expires, uint32_t flags);
    int (*remove)(int32_t cache, const char *key, size_t keylen); /* UWSGI_ERROR: no such key */
    int (*exists)(int32_t cache, const char *key, size_t keylen); /* 1 or 0 */
    int (*clear)(int32_t cache);                                   /* UWSGI_OK */
    /* Atomic 64-bit arithmetic on an 8-byte value (native byte order, as uWSGI stores it); an
     * absent key starts from 0. The expiry is set only when the item is created. Division by
     * zero gives 0, as uWSGI. UWSGI_OK with *result (may be NULL) set; UWSGI_ERROR when the
     * existing value is not 8 bytes; UWSGI_ELIMIT as set(). */
    int (*math)(int32_t cache, const char *key, size_t keylen, int32_t op, int64_t operand,
                uint64_t expires, int64_t *result);
    /* The key at position *pos or after it, copied like get(); *pos moves past it. The key's
     * length, or UWSGI_ERROR past the last key. */
    int64_t (*key_at)(int32_t cache, uint64_t *pos, void *buf, size_t buflen);
    int (*info)(int32_t cache, uwsgi_cache_info *out); /* UWSGI_ERROR: no such cache */
} uwsgi_cache_api;

#ifdef __cplusplus
}
#endif

#endif /* UWSGI_CACHE_H */
