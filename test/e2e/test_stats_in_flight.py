"""--stats: the request each core serves right now, as uWSGI lists it under workers[].cores[]:
`vars` ("KEY=VALUE" strings, ended by an empty string) and `req_info` (`request_start`, unix
seconds), both empty for an idle core. Runs on our PyPy server and on Debian's uWSGI."""
import json
import os
import socket
import time

from conftest import free_port, in_background, read_until_closed, uwsgi_packet
from module_helpers import APPS, events, start_app, wait_for

APP = "worker_status_app.py"  # /hold answers once the test creates OUT/release-request


def read_stats(port, upstream):
    with socket.create_connection(("127.0.0.1", port), timeout=10) as conn:
        data = read_until_closed(conn)
    if upstream:
        # uWSGI writes a var's bytes as they came, control characters and non-UTF-8 included:
        # not valid JSON. Read leniently for it; ours must parse strictly.
        return json.loads(data.decode("utf-8", "surrogateescape"), strict=False)
    return json.loads(data)


def cores(stats):
    return [c for w in stats["workers"] for c in w["cores"]]


def wait_stats(port, upstream, predicate, what):
    seen = []
    wait_for(lambda: seen.append(read_stats(port, upstream)) or predicate(seen[-1]), what=what)
    return seen[-1]


def wait_stats_server(port, upstream):
    # uWSGI opens its stats socket when the master loop starts, after the request socket
    def answers():
        try:
            return read_stats(port, upstream)
        except OSError:
            return None
    wait_for(answers, what="the stats server")


def assert_idle_core(core):
    assert core["in_request"] == 0 and core["vars"] == [] and core["req_info"] == {}, core


def release(s, thread):
    open(os.path.join(s.out_dir, "release-request"), "w").close()
    thread.join(60)


def test_a_request_in_flight_shows_its_vars_and_start(server, flavour, tmp_path):
    stats_port = free_port()
    s = start_app(server, flavour, tmp_path, APP, "--threads", "2", "--stats",
                  "127.0.0.1:%d" % stats_port)
    wait_stats_server(stats_port, flavour.upstream)
    st = read_stats(stats_port, flavour.upstream)
    assert len(cores(st)) == 4
    for c in cores(st):
        assert_idle_core(c)

    def send():
        import http.client
        conn = http.client.HTTPConnection("127.0.0.1", s.port, timeout=60)
        conn.request("POST", "/hold?who=stats-test", body=b"x" * 10)
        return conn.getresponse().status
    before = time.time()
    thread, results = in_background(send)
    try:
        wait_for(lambda: [e for e in events(s) if e[0] == "holding"], what="the held request")
        st = wait_stats(stats_port, flavour.upstream,
                        lambda d: any(c["in_request"] for c in cores(d)), "a core in a request")
        after = time.time()
        busy = [c for c in cores(st) if c["in_request"]]
        assert len(busy) == 1, cores(st)
        core = busy[0]
        assert core["vars"][-1] == "", core["vars"]  # uWSGI's list ends with an empty string
        vars = dict(v.split("=", 1) for v in core["vars"][:-1])
        assert vars["REQUEST_METHOD"] == "POST"
        assert vars["PATH_INFO"] == "/hold"
        assert vars["QUERY_STRING"] == "who=stats-test"
        assert vars["REMOTE_ADDR"] == "127.0.0.1"
        assert vars["CONTENT_LENGTH"] == "10"
        assert vars["SERVER_PORT"] == str(s.port)
        assert list(core["req_info"]) == ["request_start"]
        # unix seconds, truncated: within the time the request was sent and seen in flight
        assert int(before) <= core["req_info"]["request_start"] <= after, (before, core, after)
        for c in cores(st):
            if c is not core:
                assert_idle_core(c)
    finally:
        release(s, thread)
    assert results == [200]
    wait_stats(stats_port, flavour.upstream,
               lambda d: all(c["in_request"] == 0 and c["vars"] == [] for c in cores(d)),
               "every core idle again")


# A proxy passes header bytes HTTP parsers would refuse: the uwsgi protocol carries any byte.
HOSTILE = b'say "hi" \\ back\\\\slash \x01\x1f\t\n\r \x7f end\xff\xc3('


def test_hostile_var_values_keep_the_stats_valid_json(server, flavour, tmp_path):
    stats_port = free_port()
    out = tmp_path / "out"
    out.mkdir()
    args = ["--socket", "127.0.0.1:{port}", "--master", "--processes", "2", "--threads", "2",
            "--stats", "127.0.0.1:%d" % stats_port] + flavour.app_args(os.path.join(APPS, APP))
    env = {k: None for k in os.environ if k.startswith("UWSGI_")}
    env["MODULE_TEST_DIR"] = str(out)
    s = server(*args, binary=flavour.binary, env=env)
    s.out_dir = str(out)
    wait_stats_server(stats_port, flavour.upstream)
    packet = uwsgi_packet({"REQUEST_METHOD": b"GET", "PATH_INFO": b"/hold",
                           "REQUEST_URI": b"/hold", "QUERY_STRING": b"", "SERVER_NAME": b"x",
                           "SERVER_PORT": b"80", "SERVER_PROTOCOL": b"HTTP/1.0",
                           "HTTP_X_EVIL": HOSTILE, 'HTTP_X_"KEY\\': b"v"})

    def send():
        with socket.create_connection(("127.0.0.1", s.port), timeout=60) as conn:
            conn.sendall(packet)
            return read_until_closed(conn).split(b"\r\n", 1)[0]
    thread, results = in_background(send)
    try:
        # uWSGI marks a core in_request from the accept on, before it has parsed the vars:
        # wait for the core whose vars are there
        st = wait_stats(stats_port, flavour.upstream,
                        lambda d: any(c["in_request"] and c["vars"] for c in cores(d)),
                        "a core in a request with its vars")
        core = [c for c in cores(st) if c["in_request"] and c["vars"]][0]
        evil = [v for v in core["vars"] if v.startswith("HTTP_X_EVIL=")]
        assert len(evil) == 1, core["vars"]
        value = evil[0][len("HTTP_X_EVIL="):]
        ascii_part = HOSTILE[:HOSTILE.index(b"\xff")].decode()
        assert value.startswith(ascii_part), value
        # bytes that are not UTF-8: ours gives each byte's code point (\u00ff, \u00c3), uWSGI
        # the raw bytes (read here as surrogate escapes)
        tail = "\xff\xc3(" if not flavour.upstream else "\udcff\udcc3("
        assert value == ascii_part + tail, value
        assert 'HTTP_X_"KEY\\=v' in core["vars"], core["vars"]
    finally:
        release(s, thread)
    assert results and results[0].split()[1:2] == [b"200"], results
