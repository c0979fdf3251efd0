"""The rpc plugin between two of our servers, driven by the native rpcdemo plugin.

rpcdemo registers hello, reverse, args, big, empty, fail, whoami, functions, register, local,
call and call_gen (see plugins/rpc/demo/rpcdemo_plugin.cpp); `call NODE FUNC ARGS...` makes the
server call another node through the uwsgi.rpc/1 extension's call_remote, and answers
"ERROR <code>" when that fails.
"""
import contextlib
import os
import socket
import struct
import threading
import time

import pytest

from conftest import BUILD, read_until_closed, run_uwsgi, uwsgi_packet

UWSGI_OK, UWSGI_ERROR, UWSGI_ELIMIT = 0, -1, -3


def rpc_packet(name, *args, modifier2=0):
    items = [name] + list(args)
    block = b""
    for item in items:
        item = item.encode("latin-1") if isinstance(item, str) else item
        block += struct.pack("<H", len(item)) + item
    return struct.pack("<BHB", 173, len(block), modifier2) + block


def exchange(port, packet, timeout=10, host="127.0.0.1", shut_write=False):
    """Sends raw bytes and returns everything the server sent before closing."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as s:
        s.settimeout(timeout)
        s.connect((host, port))
        s.sendall(packet)
        if shut_write:
            s.shutdown(socket.SHUT_WR)
        data = read_until_closed(s)
    return data


def decode_answer(data):
    """The result of a framed answer (modifier2 0 or 5); None when the server sent nothing."""
    if not data:
        return None
    modifier1, size, modifier2 = struct.unpack("<BHB", data[:4])
    assert modifier1 == 173
    if modifier2 == 0:
        assert len(data) == 4 + size
        return data[4:]
    assert modifier2 == 5, "unexpected answer modifier2 %d" % modifier2
    block = data[4:4 + size]
    vars = {}
    i = 0
    while i < len(block):
        (kl,) = struct.unpack("<H", block[i:i + 2])
        key = block[i + 2:i + 2 + kl]
        i += 2 + kl
        (vl,) = struct.unpack("<H", block[i:i + 2])
        vars[key] = block[i + 2:i + 2 + vl]
        i += 2 + vl
    length = int(vars[b"CONTENT_LENGTH"])
    body = data[4 + size:]
    assert len(body) == length
    return body


def rpc_call(port, name, *args, **kw):
    return decode_answer(exchange(port, rpc_packet(name, *args), **kw))


def pattern(n):
    """What rpcdemo's `big N` returns."""
    return bytes(range(256)) * (n // 256) + bytes(range(n % 256))


def demo(server, *extra):
    return server("--plugin", "rpcdemo", "--socket", "127.0.0.1:{port}", *extra)


def assert_serving(s):
    assert rpc_call(s.port, "hello", "still") == b"Hello from C++ still"


# ---- one server ------------------------------------------------------------------------------


def test_functions_registered_by_a_native_plugin_answer_over_the_wire(server):
    s = demo(server)
    assert rpc_call(s.port, "hello", "x", "y") == b"Hello from C++ x y"
    assert rpc_call(s.port, "reverse", "abc") == b"cba"
    # arguments are bytes: NULs, high bytes and empty ones arrive as sent
    assert rpc_call(s.port, "args", b"a\x00b", b"", b"\xff") == b"3:a\x00b||\xff"
    assert s.wait_log("registered shared RPC function 'hello'"), s.output()


def test_answer_header_is_uwsgi_framing(server):
    s = demo(server)
    data = exchange(s.port, rpc_packet("reverse", "abc"))
    assert data == b"\xad\x03\x00\x00cba"


def test_modifier2_1_answers_the_raw_result(server):
    s = demo(server)
    assert exchange(s.port, rpc_packet("reverse", "abc", modifier2=1)) == b"cba"


def test_one_mebibyte_result_uses_modifier2_5(server):
    s = demo(server)
    data = exchange(s.port, rpc_packet("big", "1048576"))
    vars = b"\x0e\x00CONTENT_LENGTH\x07\x001048576"
    assert data[:4 + len(vars)] == struct.pack("<BHB", 173, len(vars), 5) + vars
    assert decode_answer(data) == pattern(1 << 20)
    # the largest plain answer, and the smallest that needs modifier2 5
    assert exchange(s.port, rpc_packet("big", "65535"))[:4] == b"\xad\xff\xff\x00"
    assert exchange(s.port, rpc_packet("big", "65536"))[3:4] == b"\x05"


def test_call_local_through_the_extension(server):
    s = demo(server)
    assert rpc_call(s.port, "local", "reverse", "abc") == b"cba"
    assert rpc_call(s.port, "local", "nope") == b"ERROR %d" % UWSGI_ERROR
    assert s.wait_log("RPC function 'nope' is not registered"), s.output()
    assert rpc_call(s.port, "local", "fail") == b"ERROR %d" % UWSGI_ERROR


def test_254_arguments_arrive(server):
    s = demo(server)
    args = ["a%d" % i for i in range(254)]
    assert rpc_call(s.port, "args", *args) == ("254:" + "|".join(args)).encode()


# ---- failures on the server side: logged, closed without an answer, serving goes on ----------


@pytest.mark.parametrize("packet,reason", [
    (rpc_packet("nope"), "RPC function 'nope' is not registered"),
    (rpc_packet("empty"), "RPC function 'empty' returned an empty result"),
    (rpc_packet("fail"), "RPC function 'fail' failed"),
    (struct.pack("<BHB", 173, 0, 0), "empty RPC request"),
    (struct.pack("<BHB", 173, 4, 0) + b"\x09\x00ab", "runs past the end"),
    (struct.pack("<BHB", 173, 5, 0) + b"\x02\x00ab\x01", "truncated item length"),
    (struct.pack("<BHB", 173, 256 * 3, 0) + b"\x01\x00a" * 256, "more than 254 arguments"),
    (struct.pack("<BHB", 173, 2, 0) + b"\x00\x00", "empty function name"),
    (rpc_packet("hello", modifier2=3), "modifier2 3 is not supported"),
], ids=["unknown", "empty-result", "failing", "empty-request", "item-past-end",
        "truncated-length", "255-args", "empty-name", "xmlrpc-modifier2"])
def test_failures_close_without_an_answer_and_serving_goes_on(server, packet, reason):
    s = demo(server)
    assert exchange(s.port, packet) == b""
    assert s.wait_log(reason), s.output()
    assert "partial output" not in s.output()
    assert_serving(s)


def test_truncated_packets_from_a_client_that_goes_away(server):
    s = demo(server, "--socket-timeout", "1")
    for pkt in [b"\xad\x10", struct.pack("<BHB", 173, 100, 0) + b"\x05\x00hel"]:
        assert exchange(s.port, pkt, shut_write=True) == b""
    assert s.wait_log("truncated"), s.output()
    assert_serving(s)


def test_request_over_buffer_size_is_refused_by_the_core(server):
    s = demo(server)  # --buffer-size 4096, as in uWSGI, bounds an RPC packet too
    assert rpc_call(s.port, "args", "x" * 5000) is None
    assert s.wait_log("exceed --buffer-size 4096"), s.output()
    assert_serving(s)
    big = demo(server, "--buffer-size", "65535")
    assert rpc_call(big.port, "args", "x" * 65000) == b"1:" + b"x" * 65000


# ---- two servers: the client side --------------------------------------------------------------


def test_remote_call_between_two_servers(server):
    b = demo(server)
    a = demo(server)
    node = "127.0.0.1:%d" % b.port
    assert rpc_call(a.port, "call", node, "hello", "remote") == b"Hello from C++ remote"
    assert rpc_call(a.port, "call", node, "reverse", "abc") == b"cba"
    # the request b saw came from a's client and was answered in b
    assert b.wait_log("(modifier1 173)", count=2), b.output()


def test_remote_call_over_unix_socket_and_ipv6(server, tmp_path):
    path = str(tmp_path / "rpc.sock")
    b = server("--plugin", "rpcdemo", "--socket", path, "--socket", "[::1]:{port}",
               "--socket", "127.0.0.1:{port}")
    a = demo(server)
    assert rpc_call(a.port, "call", path, "hello", "unix") == b"Hello from C++ unix"
    assert rpc_call(a.port, "call", "[::1]:%d" % b.port, "hello", "v6") == b"Hello from C++ v6"
    assert rpc_call(a.port, "call", "localhost:%d" % b.port, "hello", "name") == \
        b"Hello from C++ name"


def test_remote_one_mebibyte_result(server):
    b = demo(server)
    a = demo(server)
    result = rpc_call(a.port, "call", "127.0.0.1:%d" % b.port, "big", "1048576")
    assert result == pattern(1 << 20)


def test_remote_call_with_254_arguments_and_the_limits(server):
    b = demo(server, "--buffer-size", "65535")
    a = demo(server)
    node = "127.0.0.1:%d" % b.port
    assert rpc_call(a.port, "call_gen", node, "args", "254", "1") == \
        b"254:" + b"|".join([b"x"] * 254)
    # a 65530-byte argument fills the 65535-byte block exactly ("args" is 6 bytes with its length)
    assert rpc_call(a.port, "call_gen", node, "args", "1", str(65535 - 6 - 2)) == \
        b"1:" + b"x" * 65527
    limits = [
        (("args", "255", "1"), "255 arguments (at most 254)"),
        (("args", "1", "65536"), "argument 1 of 65536 bytes"),
        (("args", "2", "40000"), "request of 80010 bytes"),
        (("n" * 256, "0", "0"), "function name of 256 bytes"),
    ]
    for args, reason in limits:
        assert rpc_call(a.port, "call_gen", node, *args) == b"ERROR %d" % UWSGI_ELIMIT
        assert a.wait_log(reason), a.output()
    assert_serving(b)


@pytest.mark.parametrize("func,remote_reason", [
    ("nope", "RPC function 'nope' is not registered"),
    ("fail", "RPC function 'fail' failed"),
    ("empty", "RPC function 'empty' returned an empty result"),
])
def test_remote_failures_are_errors_on_the_caller(server, func, remote_reason):
    b = demo(server)
    a = demo(server)
    node = "127.0.0.1:%d" % b.port
    assert rpc_call(a.port, "call", node, func) == b"ERROR %d" % UWSGI_ERROR
    assert a.wait_log("RPC call of '%s' on %s failed: the node closed the connection without "
                      "an answer" % (func, node)), a.output()
    assert b.wait_log(remote_reason), b.output()
    assert_serving(a)
    assert_serving(b)


def test_unreachable_and_bad_nodes(server, tmp_path):
    a = demo(server)
    dead = socket.socket()
    dead.bind(("127.0.0.1", 0))
    dead_port = dead.getsockname()[1]
    dead.close()
    cases = [
        ("127.0.0.1:%d" % dead_port, "Connection refused"),
        ("127.0.0.1:notaport", "bad port 'notaport'"),
        ("[::1", "bad node address"),
        (str(tmp_path / "missing.sock"), "No such file or directory"),
    ]
    for node, reason in cases:
        assert rpc_call(a.port, "call", node, "hello") == b"ERROR %d" % UWSGI_ERROR
        assert a.wait_log(reason), (node, a.output())
    assert_serving(a)


def silent_node(answer=None, drip=None, every=0.3, seconds=20):
    """A listener that accepts, reads, then sends `answer` (or nothing) and holds the socket;
    with `drip`, it then sends one `drip` every `every` s for at most `seconds` s."""
    lst = socket.socket()
    lst.bind(("127.0.0.1", 0))
    lst.listen(8)
    held = []

    def run():
        while True:
            try:
                c, _ = lst.accept()
            except OSError:
                return
            held.append(c)
            c.recv(65536)
            try:
                if answer is not None:
                    c.sendall(answer)
                deadline = time.time() + seconds
                while drip is not None and time.time() < deadline:
                    c.sendall(drip)
                    time.sleep(every)  # the drip's pace is what such a node is about
            except OSError:
                pass

    threading.Thread(target=run, daemon=True).start()
    return lst, held


@contextlib.contextmanager
def fake_node(made):
    """`with fake_node(silent_node(...)) as node:` the node's address; closed after."""
    lst, held = made
    try:
        yield "127.0.0.1:%d" % lst.getsockname()[1]
    finally:
        lst.close()
        for c in held:
            c.close()


def test_socket_timeout_bounds_the_call(server):
    a = demo(server, "--socket-timeout", "1")
    with fake_node(silent_node()) as node:
        start = time.time()
        assert rpc_call(a.port, "call", node, "hello") == b"ERROR %d" % UWSGI_ERROR
        assert time.time() - start < 3.5
        assert a.wait_log("timed out after 1000 ms waiting for the answer"), a.output()
        assert_serving(a)


def test_a_non_rpc_or_truncated_answer_is_an_error(server):
    a = demo(server, "--socket-timeout", "1")
    for answer, reason in [(b"HTTP/1.1 501 Nope\r\n\r\n", "not an RPC answer"),
                           (b"\xad\x10\x00\x00short", "timed out after 1000 ms"),
                           (b"\xad\x03\x00\x05\x05\x00a", "malformed vars block")]:
        with fake_node(silent_node(answer)) as node:
            assert rpc_call(a.port, "call", node, "hello") == b"ERROR %d" % UWSGI_ERROR
            assert a.wait_log(reason), a.output()
    assert_serving(a)


# ---- the registry across processes and threads -----------------------------------------------


def names(port):
    return set(rpc_call(port, "functions").decode().split(","))


def test_master_functions_reach_every_worker_and_worker_ones_stay_there(server):
    s = demo(server, "--master", "--processes", "2")
    seen = {}
    for _ in range(40):  # whichever worker accepts answers; both usually show up
        if len(seen) == 2:
            break
        n = names(s.port)
        own = [x for x in n if x.startswith("only_worker_")]
        assert len(own) == 1, n  # each worker registered its own after fork, and sees only it
        assert {"hello", "reverse", "call"} <= n  # registered in the master before fork
        seen[own[0]] = n
    # a function a worker registers while serving is that worker's alone
    answer = rpc_call(s.port, "register", "added_later").decode()
    worker = answer.rsplit(" ", 1)[1]
    assert s.wait_log("registered RPC function 'added_later' in worker %s only" % worker)
    for _ in range(20):
        n = names(s.port)
        assert ("added_later" in n) == ("only_worker_" + worker in n), n


def test_calls_from_many_threads_while_others_register(server):
    s = demo(server, "--threads", "4")
    errors = []

    def caller(i):
        try:
            for j in range(25):
                if j % 5 == 0:
                    assert rpc_call(s.port, "register", "f_%d_%d" % (i, j)).startswith(
                        b"registered f_%d_%d" % (i, j))
                assert rpc_call(s.port, "hello", str(i)) == b"Hello from C++ %d" % i
        except Exception as e:  # noqa: BLE001 - reported below
            errors.append(e)

    threads = [threading.Thread(target=caller, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors
    assert len(names(s.port)) >= 12 + 8 * 5


def test_threaded_server_can_call_itself(server):
    s = demo(server, "--threads", "2")
    node = "127.0.0.1:%d" % s.port
    assert rpc_call(s.port, "call", node, "reverse", "loop") == b"pool"


# ---- the HTTP bridge (modifier2 2) -----------------------------------------------------------


def http_bridge_over_socket(port, path, accept=None):
    vars = {"REQUEST_METHOD": "GET", "PATH_INFO": path, "REQUEST_URI": path}
    if accept:
        vars["HTTP_ACCEPT"] = accept
    data = exchange(port, uwsgi_packet(vars, modifier1=173, modifier2=2))
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    headers = {k.strip().lower(): v.strip()
               for k, _, v in (line.partition(":") for line in lines[1:])}
    return int(lines[0].split()[1]), headers, body


def test_http_bridge_through_the_uwsgi_protocol(server):
    # nginx: uwsgi_modifier1 173; uwsgi_modifier2 2; the vars block arrives as the packet's body
    s = demo(server)
    status, headers, body = http_bridge_over_socket(s.port, "/hello/a/b")
    assert (status, body) == (200, b"Hello from C++ a b")
    assert headers["content-type"] == "application/binary"
    assert headers["content-length"] == str(len(body))
    status, headers, _ = http_bridge_over_socket(s.port, "/reverse/abc", accept="text/plain")
    assert headers["content-type"] == "text/plain"
    assert http_bridge_over_socket(s.port, "/nope")[0] == 404
    assert http_bridge_over_socket(s.port, "/")[0] == 404
    assert http_bridge_over_socket(s.port, "/fail")[0] == 500
    assert s.wait_log("function 'fail' failed; answering 500"), s.output()
    assert_serving(s)


HTTP_PLUGIN = os.path.join(BUILD, "plugins", "http", "http_plugin.so")


@pytest.mark.skipif(not os.path.exists(HTTP_PLUGIN),
                    reason="the http plugin is not built in %s (build with -Dplugin_http=enabled)"
                    % BUILD)
def test_http_bridge_on_http_socket(server):
    import http.client

    s = server("--plugin", "rpcdemo", "--http-socket", "127.0.0.1:{port}",
               "--http-socket-modifier1", "173", "--http-socket-modifier2", "2")

    def get(path, headers=None):
        c = http.client.HTTPConnection("127.0.0.1", s.port, timeout=10)
        c.request("GET", path, headers=headers or {})
        r = c.getresponse()
        out = (r.status, r.getheader("Content-Type"), r.read())
        c.close()
        return out

    assert get("/hello/a/b") == (200, "application/binary", b"Hello from C++ a b")
    assert get("/reverse/abc", {"Accept": "text/plain"}) == (200, "text/plain", b"cba")
    assert get("/big/1048576")[2] == pattern(1 << 20)
    assert get("/nope")[0] == 404
    assert get("/fail")[0] == 500
    assert get("/hello/ok")[0] == 200


# ---- limits on what a remote node is trusted with (issue 12) ---------------------------------


def big_answer_head(length):
    """An answer head (modifier2 5) announcing LENGTH bytes of result."""
    block = struct.pack("<H", 14) + b"CONTENT_LENGTH" + struct.pack("<H", len(str(length))) + \
        str(length).encode()
    return struct.pack("<BHB", 173, len(block), 5) + block


def rss_kib(pid):
    for line in open("/proc/%d/status" % pid):
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def test_an_answer_announced_over_rpc_max_answer_is_refused_unread(server):
    """Before: an answer announcing 1 TiB was read as it came (the caller grew to 1.1 GB)."""
    a = demo(server, "--rpc-max-answer", "1048576")
    with fake_node(silent_node(big_answer_head(1 << 40), drip=b"\0" * 65536, every=0)) as node:
        start = time.time()
        assert rpc_call(a.port, "call", node, "hello") == b"ERROR %d" % UWSGI_ELIMIT
        assert time.time() - start < 5
        assert a.wait_log("over --rpc-max-answer 1048576; refused unread"), a.output()
        assert rss_kib(a.pid) < 200 * 1024
        assert_serving(a)


def test_the_default_rpc_max_answer_is_16_mib(server):
    a = demo(server)
    with fake_node(silent_node(big_answer_head(16 * 1024 * 1024 + 1), drip=b"x", seconds=1)) as node:
        assert rpc_call(a.port, "call", node, "hello") == b"ERROR %d" % UWSGI_ELIMIT
        assert a.wait_log("over --rpc-max-answer 16777216"), a.output()
    # an answer within the limit still arrives whole (the 1 MiB one of rpcdemo's big)
    b = demo(server)
    node = "127.0.0.1:%d" % b.port
    assert rpc_call(a.port, "call", node, "big", "1048576", timeout=30) == pattern(1048576)


def test_rpc_timeout_bounds_a_dripping_answer(server):
    """A node sending a byte every 0.3 s never trips --socket-timeout; --rpc-timeout ends it."""
    a = demo(server, "--socket-timeout", "2", "--rpc-timeout", "2")
    with fake_node(silent_node(big_answer_head(1000), drip=b"x", every=0.3)) as node:
        start = time.time()
        assert rpc_call(a.port, "call", node, "hello", timeout=20) == b"ERROR %d" % UWSGI_ERROR
        assert time.time() - start < 6
        assert a.wait_log("the whole call took longer than 2000 ms (--rpc-timeout)"), a.output()
        assert_serving(a)


@pytest.mark.parametrize("value", ["0", "-1", "abc", "1e9"])
def test_bad_rpc_limits_are_fatal(value):
    for option in ("--rpc-max-answer", "--rpc-timeout"):
        r = run_uwsgi("--plugin", "rpcdemo", "--socket", "127.0.0.1:0", option, value)
        assert r.returncode != 0
        assert option + " must be a whole number" in r.stdout + r.stderr


def test_rpc_allow_restricts_remote_callers(server):
    a = demo(server, "--rpc-allow", "10.0.0.0/8")  # not loopback: our calls are refused
    assert rpc_call(a.port, "hello", "x") is None
    assert a.wait_log("RPC request from 127.0.0.1 refused: not in --rpc-allow"), a.output()
    b = demo(server, "--rpc-allow", "10.0.0.0/8", "--rpc-allow", "127.0.0.1")
    assert rpc_call(b.port, "hello", "x") == b"Hello from C++ x"
    r = run_uwsgi("--plugin", "rpcdemo", "--socket", "127.0.0.1:0", "--rpc-allow", "localhost")
    assert r.returncode != 0 and "not a numeric IPv4 or IPv6 address" in r.stdout + r.stderr


def test_rpc_allow_answers_403_on_the_http_bridge(server):
    s = server("--plugin", "rpcdemo", "--http-socket", "127.0.0.1:{port}",
               "--http-socket-modifier1", "173", "--http-socket-modifier2", "2",
               "--rpc-allow", "192.0.2.0/24")
    import urllib.error
    import urllib.request
    with pytest.raises(urllib.error.HTTPError) as e:
        urllib.request.urlopen("http://127.0.0.1:%d/hello/x" % s.port, timeout=10)
    assert e.value.code == 403
