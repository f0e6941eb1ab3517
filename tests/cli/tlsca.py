"""A throw-away certificate authority for the TLS tests, made with the
`openssl` command.

    ca = tlsca.shared()          # made once per process, removed at exit
    ca.ca_file                   # the CA's certificate (PEM): what a client trusts
    ca.cert("good")              # (cert_file, key_file) for a variant
    ctx = ca.server_context("good")   # ssl.SSLContext for a server

Variants (each an EC prime256v1 key and a certificate):

  good        signed by the CA, for IP:127.0.0.1 and DNS:localhost
  selfsigned  self-signed, for IP:127.0.0.1 and DNS:localhost
  unknown_ca  for IP:127.0.0.1 and DNS:localhost, signed by a second CA that
              no client is told about (its certificate: ca.other_ca_file)
  wrong_name  signed by the CA, but only for DNS:wrong.example
  expired     signed by the CA, for 127.0.0.1/localhost, but valid only in
              the past (notBefore/notAfter in 2001)

`TestCA(folder)` makes a fresh set in `folder` (which must exist); shared()
makes one set in a temp folder the first time it is called and reuses it for
the rest of the process. Nothing is printed."""

import atexit
import os
import shutil
import ssl
import subprocess
import tempfile
import threading

VARIANTS = ("good", "selfsigned", "unknown_ca", "wrong_name", "expired")

_SAN_OK = "subjectAltName=IP:127.0.0.1,DNS:localhost"
_SERVER_EXT = ("basicConstraints=critical,CA:FALSE\n"
               "keyUsage=critical,digitalSignature,keyEncipherment\n"
               "extendedKeyUsage=serverAuth\n")
_CA_EXT = ("basicConstraints=critical,CA:TRUE\n"
           "keyUsage=critical,keyCertSign,cRLSign\n"
           "subjectKeyIdentifier=hash\n")


def _openssl(*args, cwd=None):
    proc = subprocess.run(["openssl", *args], cwd=cwd, capture_output=True)
    if proc.returncode != 0:
        raise RuntimeError(f"openssl {' '.join(args)} failed:\n{proc.stderr.decode(errors='replace')}")
    return proc.stdout


class TestCA:
    """Keys and certificates in `folder`. Attributes: ca_file, ca_key,
    other_ca_file (the unknown CA), folder; cert(variant), cert_file(variant),
    key_file(variant), server_context(variant), client_context()."""

    __test__ = False  # not a unittest/pytest test case

    def __init__(self, folder):
        self.folder = folder
        os.makedirs(folder, exist_ok=True)
        # Readable by the dovecot/postgres service users that may load them.
        os.chmod(folder, 0o755)
        self.ca_key, self.ca_file = self._make_ca("ca", "esc test CA")
        self.other_ca_key, self.other_ca_file = self._make_ca("otherca", "esc unknown test CA")
        self._pairs = {}
        self._pairs["good"] = self._make_leaf("good", "127.0.0.1", _SAN_OK, self.ca_file, self.ca_key)
        self._pairs["selfsigned"] = self._make_selfsigned("selfsigned", "127.0.0.1", _SAN_OK)
        self._pairs["unknown_ca"] = self._make_leaf("unknown_ca", "127.0.0.1", _SAN_OK,
                                                    self.other_ca_file, self.other_ca_key)
        self._pairs["wrong_name"] = self._make_leaf("wrong_name", "wrong.example",
                                                    "subjectAltName=DNS:wrong.example",
                                                    self.ca_file, self.ca_key)
        self._pairs["expired"] = self._make_expired("expired", "127.0.0.1", _SAN_OK)
        for name in os.listdir(folder):
            os.chmod(os.path.join(folder, name), 0o644)

    # -- paths ------------------------------------------------------------

    def cert(self, variant="good"):
        """(cert_file, key_file) of a variant."""
        try:
            return self._pairs[variant]
        except KeyError:
            raise ValueError(f"unknown TLS variant {variant!r}; one of {VARIANTS}") from None

    def cert_file(self, variant="good"):
        return self.cert(variant)[0]

    def key_file(self, variant="good"):
        return self.cert(variant)[1]

    def chain_file(self, variant="good"):
        """The leaf followed by the CA that signed it (where it has one)."""
        path = os.path.join(self.folder, f"{variant}.chain.pem")
        if not os.path.exists(path):
            cert, _ = self.cert(variant)
            issuer = {"good": self.ca_file, "wrong_name": self.ca_file, "expired": self.ca_file,
                      "unknown_ca": self.other_ca_file}.get(variant)
            with open(path, "wb") as out:
                for part in (cert, issuer):
                    if part:
                        with open(part, "rb") as f:
                            out.write(f.read())
            os.chmod(path, 0o644)
        return path

    # -- contexts ---------------------------------------------------------

    def server_context(self, variant="good"):
        """An ssl.SSLContext for a server presenting `variant`'s certificate."""
        cert, key = self.cert(variant)
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.minimum_version = ssl.TLSVersion.TLSv1_2
        ctx.load_cert_chain(cert, key)
        return ctx

    def client_context(self):
        """An ssl.SSLContext for a Python client that trusts only the CA."""
        ctx = ssl.create_default_context(cafile=self.ca_file)
        return ctx

    # -- making -----------------------------------------------------------

    def _p(self, name):
        return os.path.join(self.folder, name)

    def _key(self, name):
        path = self._p(f"{name}.key")
        _openssl("genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:prime256v1",
                 "-out", path)
        return path

    def _ext(self, name, text):
        path = self._p(f"{name}.ext")
        with open(path, "w") as f:
            f.write(text)
        return path

    def _make_ca(self, name, cn):
        key = self._key(name)
        cert = self._p(f"{name}.pem")
        ext = self._ext(name, "[v3]\n" + _CA_EXT)
        _openssl("req", "-new", "-x509", "-key", key, "-out", cert, "-days", "3650", "-sha256",
                 "-subj", f"/O=esc tests/CN={cn}", "-config", ext, "-extensions", "v3")
        return key, cert

    def _csr(self, name, cn):
        key = self._key(name)
        csr = self._p(f"{name}.csr")
        _openssl("req", "-new", "-key", key, "-out", csr, "-subj", f"/O=esc tests/CN={cn}")
        return key, csr

    def _make_leaf(self, name, cn, san, ca_cert, ca_key, days="825"):
        key, csr = self._csr(name, cn)
        cert = self._p(f"{name}.pem")
        ext = self._ext(name, _SERVER_EXT + san + "\n")
        _openssl("x509", "-req", "-in", csr, "-CA", ca_cert, "-CAkey", ca_key, "-CAcreateserial",
                 "-out", cert, "-days", days, "-sha256", "-extfile", ext)
        return cert, key

    def _make_selfsigned(self, name, cn, san):
        key = self._key(name)
        cert = self._p(f"{name}.pem")
        ext = self._ext(name, "[v3]\n" + _SERVER_EXT + san + "\n")
        _openssl("req", "-new", "-x509", "-key", key, "-out", cert, "-days", "825", "-sha256",
                 "-subj", f"/O=esc tests/CN={cn}", "-config", ext, "-extensions", "v3")
        return cert, key

    def _make_expired(self, name, cn, san):
        # `openssl ca` is the one that takes explicit start and end dates.
        key, csr = self._csr(name, cn)
        cert = self._p(f"{name}.pem")
        db = self._p("ca-db")
        os.makedirs(db, exist_ok=True)
        open(os.path.join(db, "index.txt"), "w").close()
        with open(os.path.join(db, "serial"), "w") as f:
            f.write("1000\n")
        conf = self._ext(f"{name}-ca", f"""
[ca]
default_ca = test
[test]
dir = {db}
database = $dir/index.txt
serial = $dir/serial
new_certs_dir = $dir
default_md = sha256
policy = anything
copy_extensions = none
unique_subject = no
[anything]
organizationName = optional
commonName = supplied
[leaf]
{_SERVER_EXT}{san}
""")
        _openssl("ca", "-batch", "-config", conf, "-extensions", "leaf", "-in", csr, "-out", cert,
                 "-cert", self.ca_file, "-keyfile", self.ca_key, "-notext",
                 "-startdate", "20010101000000Z", "-enddate", "20011231000000Z")
        return cert, key


_shared = None
_shared_dir = None
_lock = threading.Lock()


def shared():
    """The process-wide TestCA, made on first use in a temp folder that is
    removed when the process exits."""
    global _shared, _shared_dir
    with _lock:
        if _shared is None:
            _shared_dir = tempfile.mkdtemp(prefix="esc-tlsca-")
            atexit.register(shutil.rmtree, _shared_dir, True)
            _shared = TestCA(_shared_dir)
        return _shared


def server_context(variant="good"):
    """shared().server_context(variant)."""
    return shared().server_context(variant)
