#!/usr/bin/env python3
"""Completes the pypy plugin's setup script from the C headers, at build time.

usage: gen_setup.py SETUP.py OUT_SETUP.py OUT_FIELDS.inc HEADER.h...

The setup script reads the core's structs through cffi, so it needs their declarations (a cdef),
their integer constants (UWSGI_OK, ...) and, for the start-up layout handshake, the list of
structs whose fields it reports. All are made here from the headers themselves (plugin.h, rpc.h, cache.h, pypy_api.h): the declarations, comments and
preprocessor lines removed, replace the line "# @GENERATED_CDEF@" of SETUP.py, giving
OUT_SETUP.py, the exact script the plugin embeds and `--print-sym uwsgi_pypy_setup` prints.
A line "# @INCLUDE NAME.py@" takes in that file from SETUP.py's folder (websocket_hub.py).
OUT_FIELDS.inc is the plugin's side of the handshake: one LAYOUT_SIZE / LAYOUT_FIELD line per
struct and field, so the plugin and the script check the same list. Adding a host function is
then: its field in plugin.h, its entry in the core's host table, its offset in the layout test.
"""
import os
import re
import sys

MARKER = "# @GENERATED_CDEF@\n"

# The structs the handshake covers, with how the plugin judges the script's report:
# exact (must match), needed (must match and must be reported), at_most for a size the script
# may know as an older, shorter prefix (append-only tables).
HANDSHAKE = {
    "uwsgi_str": ("exact", "exact"),
    "uwsgi_header": ("exact", "exact"),
    "uwsgi_host": ("at_most", "exact"),
    "uwsgi_worker_stats": ("exact", "exact"),
    "uwsgi_rpc_api": ("at_most", "exact"),
    "uwsgi_cache_api": ("at_most", "exact"),
    "uwsgi_cache_info": ("exact", "exact"),
    "uwsgi_pypy_api": ("exact_needed", "exact_needed"),
    "uwsgi_pypy_call": ("exact_needed", "exact_needed"),
}


def declarations(text):
    """The C declarations of a header: no comments, no preprocessor lines, no extern "C"."""
    text = re.sub(r"/\*.*?\*/", "", text, flags=re.S)
    text = re.sub(r"//[^\n]*", "", text)
    text = re.sub(r"\\\n", " ", text)  # preprocessor continuation lines
    out = []
    for line in text.splitlines():
        stripped = line.strip()
        if not stripped or stripped.startswith("#") or stripped in ('extern "C" {', "}"):
            continue
        out.append(line.rstrip())
    return "\n".join(out) + "\n"


def constants(text):
    """[(NAME, value)] of every `#define NAME <integer>` of a header (UWSGI_OK, ...)."""
    found = []
    for name, value in re.findall(r"^#define (\w+) \(?(-?(?:0x[0-9a-fA-F]+|\d+))u?\)?\s*(?:/\*.*)?$",
                                  text, flags=re.M):
        found.append((name, int(value, 0)))
    return found


def struct_fields(cdef):
    """{struct: [field, ...]} of every `typedef struct NAME {...} NAME;` in the cdef."""
    structs = {}
    for name, body in re.findall(r"typedef struct (\w+) \{(.*?)\} \1;", cdef, flags=re.S):
        fields = []
        for decl in body.split(";"):
            decl = " ".join(decl.split())
            if not decl:
                continue
            m = re.search(r"\(\s*\*\s*(\w+)\s*\)\s*\(", decl)  # a function pointer
            fields.append(m.group(1) if m else re.findall(r"\w+", decl)[-1])
        structs[name] = fields
    return structs


def preparsed_ffi(cdef):
    """The body of cffi's out-of-line ABI module for CDEF (the `_cffi_backend.FFI(...)` call and
    its arguments, pre-parsed type tables), or None when this build's Python has no cffi.

    Why: cffi.FFI().cdef() at run time imports cffi's C parser (pycparser and its ply tables),
    which stays alive in the worker: about 6 MB of pointer-dense objects that every major
    collection of PyPy's incminimark GC marks again. Allocation-heavy apps then ran 1.3-1.4x
    slower inside the server than under pypy3 (bench/embedded_vs_binary.py, docs/PERFORMANCE.md).
    The pre-parsed tables need no parser at run time; _cffi_backend parses the short type strings
    of ffi.new/cast/callback itself."""
    try:
        import cffi
    except ImportError:
        return None
    import contextlib
    import io
    import os
    import tempfile
    ffi = cffi.FFI()
    ffi.cdef(cdef)
    ffi.set_source("_uwsgi_pypy_ffi", None)
    with tempfile.TemporaryDirectory() as tmp, contextlib.redirect_stdout(io.StringIO()):
        path = os.path.join(tmp, "_uwsgi_pypy_ffi.py")
        ffi.emit_python_code(path)
        with open(path) as f:
            code = f.read()
    start = code.index("ffi = _cffi_backend.FFI(")
    # The call's arguments span lines inside its parentheses, so indentation does not matter.
    return code[start:].replace("ffi = _cffi_backend.FFI(",
                                "def preparsed_ffi(FFI):\n    return FFI(", 1)


INCLUDE = re.compile(r"^# @INCLUDE ([\w.]+)@\n", re.M)


def include_parts(source, setup):
    """Each line "# @INCLUDE NAME.py@" replaced by that file (next to SETUP.py), so a part of
    the script with one job (websocket_hub.py) is its own file and the script stays one text."""
    folder = os.path.dirname(setup)

    def part(m):
        with open(os.path.join(folder, m.group(1))) as f:
            return ("# ---- %s (included at build time by gen_setup.py) ----\n" % m.group(1)
                    + f.read())
    try:
        return INCLUDE.sub(part, source)
    except OSError as e:
        sys.stderr.write("gen_setup.py: %s\n" % e)
        return None


def main(argv):
    if len(argv) < 5:
        sys.stderr.write(__doc__)
        return 2
    setup, out_setup, out_fields, headers = argv[1], argv[2], argv[3], argv[4:]
    cdef = ""
    numbers = []
    for path in headers:
        with open(path) as f:
            text = f.read()
        cdef += "/* %s */\n" % path.rsplit("/", 1)[-1] + declarations(text)
        numbers += constants(text)
    structs = struct_fields(cdef)
    missing = [s for s in HANDSHAKE if s not in structs]
    if missing:
        sys.stderr.write("gen_setup.py: no struct %s in %s\n" % (", ".join(missing), headers))
        return 1
    with open(setup) as f:
        source = f.read()
    if source.count(MARKER) != 1:
        sys.stderr.write("gen_setup.py: %s needs the line %r exactly once\n" % (setup, MARKER))
        return 1
    if '"""' in cdef:
        sys.stderr.write("gen_setup.py: a header contains triple quotes\n")
        return 1
    fragment = (
        "# Generated at build time by gen_setup.py from %s: do not edit.\n"
        % ", ".join(p.rsplit("/", 1)[-1] for p in headers)
        + 'CDEF = """\n' + cdef + '"""\n'
        + "LAYOUT_STRUCTS = %r\n" % (tuple(HANDSHAKE),)
        + "".join("%s = %d\n" % c for c in numbers)
    )
    preparsed = preparsed_ffi(cdef)
    if preparsed is not None:
        import zlib
        fragment += ("# cffi out-of-line ABI tables of CDEF (no C parser at run time), for the CDEF\n"
                     "# whose CRC-32 follows: a script whose CDEF was edited parses its own.\n"
                     "PREPARSED_CDEF_CRC32 = %d\n" % zlib.crc32(("\n" + cdef).encode()) + preparsed)
    source = include_parts(source, setup)
    if source is None:
        return 1
    with open(out_setup, "w") as f:
        f.write(source.replace(MARKER, fragment))
    lines = ["/* Generated by gen_setup.py from the plugin-api and pypy_api.h headers. */"]
    for name, (size_rule, field_rule) in HANDSHAKE.items():
        lines.append("LAYOUT_SIZE(%s, %s)" % (name, size_rule))
        lines += ["LAYOUT_FIELD(%s, %s, %s)" % (name, f, field_rule) for f in structs[name]]
    with open(out_fields, "w") as f:
        f.write("\n".join(lines) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
