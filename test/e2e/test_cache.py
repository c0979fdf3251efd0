"""The caching framework (--cache2, --cache, uwsgi.cache_*) with 2 processes x 2 threads: one
cache shared by every worker and thread, uWSGI's return conventions, expiry, purge_lru, store
across a restart, exact concurrent arithmetic, cachelib. Runs on our PyPy server and on Debian's
uWSGI (CPython plugin), so what is asserted is uWSGI's behaviour."""
import json
import os
import socket
import subprocess
import threading
import urllib.parse

import pytest

from conftest import (BUILD, PYPY_HOME, UWSGI, free_port, plugin_available, read_until_closed,
                      uwsgi_packet)
from module_helpers import from_each_worker, get, start_app, wait_for

CACHE = "--cache2"


def start(server, flavour, tmp_path, *caches):
    args = ["--threads", "2"]
    for c in caches or ("name=main,items=64,blocksize=1024,keysize=64",):
        args += [CACHE, c]
    return start_app(server, flavour, tmp_path, "cache_app.py", *args)


def call(s, fn, *args):
    q = urllib.parse.urlencode({"fn": fn, "args": repr(args)})
    return get(s, "/call?" + q)[1]


def test_set_in_one_worker_read_in_the_other(server, flavour, tmp_path):
    s = start(server, flavour, tmp_path)
    assert call(s, "cache_set", "shared", b"from one worker") is True
    q = urllib.parse.urlencode({"fn": "cache_get", "args": repr(("shared",))})
    seen = from_each_worker(s, "/call?" + q)
    assert set(seen) == {1, 2}
    assert set(seen.values()) == {b"from one worker"}


def test_every_function_and_its_return_value(server, flavour, tmp_path):
    s = start(server, flavour, tmp_path, "name=main,items=64,blocksize=1024,keysize=64",
              "name=other,items=8")
    assert call(s, "cache_get", "k") is None
    assert call(s, "cache_exists", "k") is None
    assert call(s, "cache_set", "k", b"v1") is True
    assert call(s, "cache_set", "k", b"v2") is None  # only when absent
    assert call(s, "cache_get", "k") == b"v1"
    assert call(s, "cache_get", b"k") == b"v1"  # keys: str or bytes
    assert call(s, "cache_exists", "k") is True
    assert call(s, "cache_update", "k", b"v2") is True
    assert call(s, "cache_update", "new", b"n") is True  # update also creates
    assert call(s, "cache_get", "k") == b"v2"
    assert sorted(call(s, "cache_keys")) == [b"k", b"new"]
    assert call(s, "cache_del", "k") is True
    assert call(s, "cache_del", "k") is None
    # the default cache is the first one; `cache` names another
    assert call(s, "cache_set", "k", b"elsewhere", 0, "other") is True
    assert call(s, "cache_get", "k") is None
    assert call(s, "cache_get", "k", "other") == b"elsewhere"
    assert call(s, "cache_keys", "other") == [b"k"]
    assert call(s, "cache_clear", "other") is True
    assert call(s, "cache_keys", "other") == []
    assert call(s, "cache_get", "new") == b"n"  # clearing one cache leaves the others
    assert call(s, "cache_clear") is True
    assert call(s, "cache_keys") == []
    # 64-bit arithmetic: absent keys start at 0; defaults inc/dec 1, mul/div 2
    assert call(s, "cache_inc", "n") is True
    assert call(s, "cache_num", "n") == 1
    assert call(s, "cache_inc", "n", 10) is True
    assert call(s, "cache_mul", "n") is True
    assert call(s, "cache_num", "n") == 22
    assert call(s, "cache_div", "n") is True
    assert call(s, "cache_dec", "n", 20) is True
    assert call(s, "cache_num", "n") == -9
    assert call(s, "cache_mul", "n", 1 << 40) is True
    assert call(s, "cache_num", "n") == -9 << 40
    assert call(s, "cache_div", "n", 0) is True  # division by zero gives 0, as uWSGI
    assert call(s, "cache_num", "n") == 0
    assert len(call(s, "cache_get", "n")) == 8
    assert call(s, "cache_num", "absent") == 0
    assert call(s, "cache_inc", "n2", 3, 0, "other") is True
    assert call(s, "cache_num", "n2", "other") == 3


def test_bad_input_answers_none_and_loses_nothing(server, flavour, tmp_path):
    s = start(server, flavour, tmp_path)
    assert call(s, "cache_set", "keep", b"safe") is True
    assert call(s, "cache_set", "big", b"x" * 1025) is None  # over blocksize=1024
    assert call(s, "cache_set", "fits", b"x" * 1024) is True
    assert call(s, "cache_update", "keep", b"x" * 1025) is None
    assert call(s, "cache_set", "k" * 65, b"v") is None  # over keysize=64
    assert call(s, "cache_set", "nocache", b"v", 0, "missing") is None
    assert call(s, "cache_get", "keep", "missing") is None
    assert call(s, "cache_del", "keep", "missing") is None
    assert call(s, "cache_keys", "missing").startswith("ValueError")
    assert call(s, "cache_get", "keep") == b"safe"
    assert call(s, "cache_get", "fits") == b"x" * 1024
    assert call(s, "cache_get", "big") is None


def test_items_expire(server, flavour, tmp_path):
    s = start(server, flavour, tmp_path)
    assert call(s, "cache_set", "short", b"v", 1) is True
    assert call(s, "cache_set", "long", b"v", 3600) is True
    assert call(s, "cache_set", "forever", b"v") is True
    # uWSGI hides an expired item only once its sweeper ran (every 3 s); ours at once
    wait_for(lambda: call(s, "cache_get", "short") is None, timeout=20, what="expiry")
    assert call(s, "cache_exists", "short") is None
    assert call(s, "cache_get", "long") == b"v"
    assert call(s, "cache_get", "forever") == b"v"
    assert call(s, "cache_set", "short", b"again") is True  # its slot is free again


def test_purge_lru_evicts_the_least_recently_used(server, flavour, tmp_path):
    s = start(server, flavour, tmp_path, "name=lru,items=4,purge_lru=1")
    assert call(s, "cache_set", "hot", b"h") is True
    for i in range(10):
        assert call(s, "cache_set", "k%d" % i, b"v") is True  # never refused: evicts
        assert call(s, "cache_get", "hot") == b"h"  # read, so never the least recent
    keys = call(s, "cache_keys")
    assert b"hot" in keys and b"k9" in keys and b"k0" not in keys
    assert len(keys) <= 4


def test_full_cache_refuses_without_purge_lru(server, flavour, tmp_path):
    s = start(server, flavour, tmp_path, "name=small,items=4,ignore_full=1")
    stored = [call(s, "cache_set", "k%d" % i, b"v") for i in range(6)]
    assert stored[0] is True and stored[-1] is None  # full: None, nothing evicted
    assert call(s, "cache_get", "k0") == b"v"


def test_clear_on_full_empties_a_full_cache_and_stores(server, flavour, tmp_path):
    s = start(server, flavour, tmp_path, "name=small,items=3,clear_on_full=1")
    assert [call(s, "cache_set", "k%d" % i, b"v") for i in range(6)] == [True] * 6
    assert call(s, "cache_get", "k5") == b"v"  # the item that found the cache full is kept
    assert call(s, "cache_get", "k0") is None  # emptied by the first clear


def test_stats_server_lists_each_cache_with_its_counters(server, flavour, tmp_path):
    port = free_port()
    s = start_app(server, flavour, tmp_path, "cache_app.py", "--threads", "2",
                  CACHE, "name=main,items=16,blocksize=128,keysize=32", CACHE, "name=other,items=8",
                  "--stats", "127.0.0.1:%d" % port)
    assert call(s, "cache_set", "a", b"1") is True
    assert call(s, "cache_set", "b", b"2") is True
    assert call(s, "cache_get", "a") == b"1"
    assert call(s, "cache_get", "nope") is None
    stats = {}

    def read():
        with socket.create_connection(("127.0.0.1", port), timeout=10) as conn:
            stats["doc"] = json.loads(read_until_closed(conn))
        return stats["doc"].get("caches")
    wait_for(read, what="the stats server")
    caches = {c["name"]: c for c in stats["doc"]["caches"]}
    assert set(caches) == {"main", "other"}
    main = caches["main"]
    assert (main["max_items"], main["blocksize"], main["keysize"]) == (16, 128, 32)
    assert (main["items"], main["hits"], main["miss"], main["full"]) == (2, 1, 1, 0)
    for key in ("hash", "hashsize", "blocks", "last_modified_at"):  # uwsgitop's cache keys
        assert key in main
    assert caches["other"]["items"] == 0


def test_store_keeps_the_cache_across_a_restart(server, flavour, tmp_path):
    store = str(tmp_path / "cache.store")
    spec = "name=main,items=16,blocksize=256,store=%s,store_sync=1" % store
    s = start(server, flavour, tmp_path, spec)
    assert call(s, "cache_set", "persisted", b"across restarts") is True
    assert call(s, "cache_inc", "count", 41) is True
    s.stop()
    s = start(server, flavour, tmp_path, spec)
    assert call(s, "cache_get", "persisted") == b"across restarts"
    assert call(s, "cache_inc", "count") is True
    assert call(s, "cache_num", "count") == 42


def test_concurrent_increments_are_exact(server, flavour, tmp_path):
    s = start(server, flavour, tmp_path)
    results = []

    def hammer():
        results.append(get(s, "/incr?n=500&key=total", timeout=120))
    threads = [threading.Thread(target=hammer) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert [r[1] for r in results] == [500] * 4
    assert call(s, "cache_num", "total") == 2000


def test_cachelib_uwsgicache(server, flavour, tmp_path):
    s = start(server, flavour, tmp_path, "name=main,items=64")
    assert get(s, "/cachelib?cache=main")[1] == [
        True, {"a": 1}, False, {"a": 1}, True, True, False, None, True, [1, 2], True, None]


def test_bad_cache2_is_refused_at_start_up(tmp_path):
    app = os.path.join(os.path.dirname(__file__), "apps", "cache_app.py")
    for spec, named in [("name=a,items=10,colour=red", "unknown key 'colour'"),
                        ("name=a,items=ten", "items must be a whole number"),
                        ("items=10", "add name=NAME"),
                        ("name=a", "add items=N"),
                        ("name=a,items=10,bitmap=1", "bitmap: values spanning several blocks"),
                        ("name=a,items=10,hash=md5", "hash must be djb33x or murmur2")]:
        r = subprocess.run([UWSGI, "--http-socket", "127.0.0.1:0", "--pypy-home", PYPY_HOME,
                            "--pypy-wsgi-file", app, CACHE, spec],
                           capture_output=True, text=True, timeout=60)
        assert r.returncode != 0, spec
        assert named in r.stderr + r.stdout, (spec, r.stderr + r.stdout)


def native(port, path, cache=""):
    """Asks the cachedemo plugin (modifier1 120) over the uwsgi protocol: (status line, body)."""
    packet = uwsgi_packet({"PATH_INFO": path, "QUERY_STRING": cache, "REQUEST_METHOD": "GET"},
                          modifier1=120)
    with socket.create_connection(("127.0.0.1", port), timeout=30) as sock:
        sock.sendall(packet)
        data = read_until_closed(sock)
    head, _, body = data.partition(b"\r\n\r\n")
    return head.split(b"\r\n")[0].decode(), body


def test_a_native_plugin_reads_what_pypy_wrote(server, tmp_path):
    demo = os.path.join(BUILD, "plugins", "cache", "cachedemo_plugin.so")
    if not plugin_available("pypy") or not os.path.exists(demo):
        pytest.skip("plugin pypy or the cachedemo plugin is not built here")
    from conftest import Flavour
    native_port = free_port()
    s = start_app(server, Flavour("pypy"), tmp_path, "cache_app.py", "--threads", "2",
                  CACHE, "name=main,items=64", CACHE, "name=other,items=8",
                  "--plugin", "cachedemo", "--socket", "127.0.0.1:%d" % native_port)
    assert call(s, "cache_set", "from-pypy", b"written by PyPy") is True
    assert call(s, "cache_inc", "n", 41, 0, "other") is True
    assert native(native_port, "/get/from-pypy") == ("HTTP/1.1 200 OK", b"written by PyPy")
    assert native(native_port, "/num/n", "other")[1] == b"41"
    assert native(native_port, "/get/absent")[0].startswith("HTTP/1.1 404")
    assert native(native_port, "/set/from-cpp/native")[1] == b"stored"
    assert call(s, "cache_get", "from-cpp") == b"native"


def start_node(server, flavour, tmp_path, name, *extra):
    """An instance in its own folder (remote cache tests). uWSGI serves remote caches with its
    cache plugin (Debian: cache_plugin.so, modifier1 111); ours is the same name."""
    folder = tmp_path / name
    folder.mkdir()
    return start_app(server, flavour, folder, "cache_app.py", "--threads", "2",
                     "--plugin", "cache", *extra)


def remote_calls(client, remote):
    """What every flavour answers for cache_*(..., "name@host:port")."""
    return [
        call(client, "cache_set", "k", b"remote value", 0, remote),
        call(client, "cache_get", "k", remote),
        call(client, "cache_set", "k", b"again", 0, remote),
        call(client, "cache_update", "k", b"updated", 0, remote),
        call(client, "cache_get", "k", remote),
        call(client, "cache_exists", "k", remote),
        call(client, "cache_del", "k", remote),
        call(client, "cache_del", "k", remote),
        call(client, "cache_exists", "k", remote),
        call(client, "cache_get", "k", remote),
        call(client, "cache_set", "kept", b"on the node", 0, remote),
    ]


REMOTE_ANSWERS = [True, b"remote value", None, True, b"updated", True, True, None, None, None,
                  True]


def test_remote_cache_name_at_host_port(server, flavour, tmp_path):
    node_port = free_port()
    node = start_node(server, flavour, tmp_path, "node", CACHE, "name=main,items=16",
                      CACHE, "name=other,items=8", "--socket", "127.0.0.1:%d" % node_port)
    client = start_node(server, flavour, tmp_path, "client", CACHE, "name=local,items=4")
    assert remote_calls(client, "other@127.0.0.1:%d" % node_port) == REMOTE_ANSWERS
    assert call(node, "cache_get", "kept", "other") == b"on the node"
    assert call(node, "cache_get", "kept") is None  # went to `other`, not the default
    assert call(client, "cache_get", "kept", "nosuch@127.0.0.1:%d" % node_port) is None
    assert call(client, "cache_get", "kept", "other@127.0.0.1:%d" % free_port()) is None


def test_remote_cache_between_ours_and_uwsgi(server, tmp_path):
    """Our PyPy app uses a cache of Debian's uWSGI, and uWSGI's app one of ours."""
    from conftest import Flavour, upstream_python_available
    if not upstream_python_available() or not plugin_available("pypy"):
        pytest.skip("needs Debian's uwsgi-core with its python3 plugin and our pypy plugin")
    ours, theirs = Flavour("pypy"), Flavour("cpython")
    for client_flavour, node_flavour in [(ours, theirs), (theirs, ours)]:
        node_port = free_port()
        tag = "%s-to-%s" % (client_flavour, node_flavour)
        node = start_node(server, node_flavour, tmp_path, tag + "-node", CACHE,
                          "name=other,items=8", "--socket", "127.0.0.1:%d" % node_port)
        client = start_node(server, client_flavour, tmp_path, tag + "-client", CACHE,
                            "name=local,items=4")
        assert remote_calls(client, "other@127.0.0.1:%d" % node_port) == REMOTE_ANSWERS, tag
        assert call(node, "cache_get", "kept", "other") == b"on the node", tag


def test_a_worker_killed_while_writing_breaks_nothing(server, flavour, tmp_path):
    if flavour.upstream:
        # uWSGI's cache lock is a plain process-shared rwlock: a worker killed while holding it
        # leaves it held, and every other worker blocks on the cache for good.
        pytest.skip("uWSGI's cache deadlocks when a worker dies holding its lock")
    s = start(server, flavour, tmp_path)
    assert call(s, "cache_set", "keep", b"safe") is True
    pid_file = os.path.join(s.out_dir, "churn.pid")
    for _ in range(3):  # three workers killed in the middle of their writes
        if os.path.exists(pid_file):
            os.unlink(pid_file)
        threading.Thread(target=lambda: _ignore_errors(get, s, "/churn?secs=60", 90),
                         daemon=True).start()
        wait_for(lambda: os.path.exists(pid_file) and open(pid_file).read(), what="churn")
        pid = int(open(pid_file).read())
        wait_for(lambda: call(s, "cache_num", "churn-n") > 1000, what="writes under way")
        os.kill(pid, 9)
        # the master respawns it; the cache answers every worker, nothing else is lost
        q = urllib.parse.urlencode({"fn": "cache_get", "args": repr(("keep",))})
        seen = from_each_worker(s, "/call?" + q)
        assert set(seen.values()) == {b"safe"}
        assert call(s, "cache_update", "churn", b"after") is True
        assert call(s, "cache_get", "churn") == b"after"
        assert call(s, "cache_inc", "after-kill") is True


def _ignore_errors(fn, *args):
    try:
        fn(*args)
    except Exception:  # noqa: BLE001 (the worker serving it is killed on purpose)
        pass
