"""Certificates made at test time with the openssl CLI, and clients that trust them."""
import os
import socket
import ssl
import subprocess


def make_certificate(directory, name="server", cn="localhost"):
    """A self-signed EC certificate for 127.0.0.1 and localhost: (cert path, key path)."""
    cert = os.path.join(str(directory), name + ".crt")
    key = os.path.join(str(directory), name + ".key")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                    "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", key, "-out", cert,
                    "-days", "2", "-subj", "/CN=" + cn,
                    "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost"],
                   check=True, capture_output=True, timeout=60)
    return cert, key


def client_context(cert):
    """A client context that trusts only CERT and checks the server's name against it."""
    ctx = ssl.create_default_context(cafile=cert)
    ctx.check_hostname = True
    return ctx


def closed_cleanly(sock):
    """Reads until EOF; True when the server ended with a FIN (b''), not a reset or a hang."""
    try:
        while True:
            chunk = sock.recv(4096)
            if not chunk:
                return True
    except ConnectionResetError:
        return False


def send_bad_tls_clients(port, cert):
    """Plain HTTP, then garbage, on the TLS port (True when both were closed with a FIN), then a
    client that sends its ClientHello and goes away mid-handshake."""
    plain = socket.create_connection(("127.0.0.1", port), timeout=10)
    plain.sendall(b"GET /env HTTP/1.1\r\nHost: x\r\n\r\n")
    clean = closed_cleanly(plain)
    plain.close()
    garbage = socket.create_connection(("127.0.0.1", port), timeout=10)
    garbage.sendall(b"\x16\x03\x01\x00\x05hello" + b"\x00" * 64)
    clean = closed_cleanly(garbage) and clean
    garbage.close()
    raw = socket.create_connection(("127.0.0.1", port), timeout=10)
    incoming, outgoing = ssl.MemoryBIO(), ssl.MemoryBIO()
    half = client_context(cert).wrap_bio(incoming, outgoing, server_hostname="localhost")
    try:
        half.do_handshake()
        raise AssertionError("a handshake cannot complete without the server's answer")
    except ssl.SSLWantReadError:
        pass
    raw.sendall(outgoing.read())  # the ClientHello, then nothing
    raw.close()
    return clean
