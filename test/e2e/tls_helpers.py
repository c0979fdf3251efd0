"""Certificates made at test time with the openssl CLI, and clients that trust them."""
import os
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
