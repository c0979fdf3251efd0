"""The command line: info commands, configuration sources and every plugin rejection."""
import os
import socket

from conftest import BUILD, ROOT, read_until_closed, run_uwsgi

FIXTURES = os.environ.get("UWSGI_FIXTURE_DIR", os.path.join(BUILD, "test"))


def fixture(name):
    return os.path.join(FIXTURES, name + "_plugin.so")


def test_version():
    r = run_uwsgi("--version")
    assert r.returncode == 0
    assert r.stdout.strip()[0].isdigit()


def test_help_groups_options_by_plugin():
    r = run_uwsgi("--help")
    assert r.returncode == 0
    assert "core options:" in r.stdout
    assert "--socket, -s, --uwsgi-socket ADDR" in r.stdout
    assert "example plugin (" in r.stdout


def test_list_plugins_shows_name_version_abi_file():
    r = run_uwsgi("--list-plugins")
    assert r.returncode == 0
    assert "example 1.0.0 (ABI 1.1) " in r.stdout
    assert "example_plugin.so" in r.stdout


def test_check_plugin_accepts_a_good_plugin():
    r = run_uwsgi("--check-plugin", fixture("good"))
    assert r.returncode == 0, r.stderr
    assert r.stdout.startswith("ok: good 0.0.1 (ABI 1.1)")


REJECTIONS = {
    "no_entry": "no entry symbol",
    "bad_magic": "bad magic number",
    "abi_major": "built for plugin ABI 2.1, this server speaks ABI 1.1",
    "newer_minor": "needs plugin ABI 1.99, newer than this server's 1.1",
    "short_struct": "missing fields",
    "missing_name": "lacks its required name field",
    "short_protocol": "protocol table is 96 bytes but ABI 1.0 needs 104",
}


def test_check_plugin_rejects_each_broken_fixture():
    for name, message in REJECTIONS.items():
        r = run_uwsgi("--check-plugin", fixture(name))
        assert r.returncode == 1, name
        assert message in r.stderr, (name, r.stderr)
        assert fixture(name) in r.stderr


def test_upstream_uwsgi_plugin_is_rejected_clearly():
    upstream = "/usr/lib/uwsgi/plugins/python3_plugin.so"
    assert os.path.exists(upstream), "Debian's uwsgi-plugin-python3 must be installed"
    r = run_uwsgi("--check-plugin", upstream)
    assert r.returncode == 1
    assert "upstream uWSGI plugin" in r.stderr
    r = run_uwsgi("--plugin", upstream, "--socket", "127.0.0.1:0")
    assert r.returncode == 1
    assert "upstream uWSGI plugin" in r.stderr


def test_duplicate_plugin_names_are_fatal_when_both_are_asked_for():
    r = run_uwsgi("--plugin", fixture("dup_a"), "--plugin", fixture("dup_b"), "--socket", "127.0.0.1:0")
    assert r.returncode == 1
    assert "name 'dupe' is already taken" in r.stderr


def test_option_claimed_by_two_plugins_is_fatal():
    r = run_uwsgi("--plugins", fixture("clash_a") + "," + fixture("clash_b"), "--socket", "127.0.0.1:0")
    assert r.returncode == 1
    assert "option --clash-option is claimed by both clash_a and clash_b" in r.stderr


def test_failing_init_is_fatal_with_its_message():
    r = run_uwsgi("--plugin", fixture("failing_init"), "--socket", "127.0.0.1:0")
    assert r.returncode == 1
    assert "this fixture refuses to start" in r.stderr
    assert "plugin failing" in r.stderr and "failed to initialise" in r.stderr


def test_unknown_option_names_it_and_the_searched_directories():
    r = run_uwsgi("--no-such-thing", "1")
    assert r.returncode == 1
    assert "unknown option --no-such-thing" in r.stderr
    assert "/plugins/example" in r.stderr  # the directories searched


def test_flags_are_false_only_for_false_off_no_0():
    # as uWSGI reads them: any other value, "perhaps" included, is true
    r = run_uwsgi("--need-app=perhaps", "--socket", "127.0.0.1:0")
    assert r.returncode == 22
    assert "no app loaded" in r.stderr


def test_no_socket_is_a_clear_error():
    r = run_uwsgi("--plugin", "example")
    assert r.returncode == 1
    assert "no socket to serve" in r.stderr


def test_need_app_exits_22_without_an_app():
    r = run_uwsgi("--socket", "127.0.0.1:0")
    assert r.returncode == 22
    assert "no app loaded" in r.stderr


def test_plugin_found_through_plugin_dir_and_env(tmp_path):
    r = run_uwsgi("--plugin-dir", FIXTURES, "--list-plugins")
    assert "good 0.0.1" in r.stdout
    r = run_uwsgi("--list-plugins", env={"UWSGI_PLUGIN_PATH": FIXTURES})
    assert "good 0.0.1" in r.stdout


def test_print_sym_of_a_missing_symbol_fails():
    r = run_uwsgi("--print-sym", "no_such_symbol_here")
    assert r.returncode == 1
    assert "no_such_symbol_here" in r.stderr


def test_abi_1_0_protocol_plugin_loads_and_serves(server):
    """A protocol plugin built for ABI 1.0 (1.0 table sizes, the fixed 1.0 entry name) keeps
    loading and serving in this 1.1 core: tables are checked per the minor a plugin claims."""
    r = run_uwsgi("--check-plugin", fixture("abi10_protocol"))
    assert r.returncode == 0, r.stderr
    assert r.stdout.startswith("ok: abi10 1.0.0 (ABI 1.0)"), r.stdout
    srv = server("--plugin", fixture("abi10_protocol"), "--abi10-socket", "127.0.0.1:{port}")
    for path in ("/first", "/second"):
        with socket.create_connection(("127.0.0.1", srv.port), timeout=10) as s:
            s.sendall(path.encode() + b"\n")
            answer = read_until_closed(s)
        assert answer == b"200 OK\nABI 1.0 plugin served " + path.encode() + b"\n"
