"""A real IMAP server for the tests: Dovecot on 127.0.0.1 (a free port) with
one Maildir INBOX that the test fills.

    with ImapServer() as imap:                    # or ImapServer(tls=True)
        imap.url                                  # imap://127.0.0.1:PORT
        imap.user, imap.password                  # "dana", "pw"
        imap.deliver(b"From: ...\\r\\n\\r\\nbody")   # -> the file's name in new/
        imap.client()                             # an imaplib client, logged in

tls: None (plain IMAP, "ssl = no"), or True / a tlsca variant name
     ("good", "selfsigned", "unknown_ca", "wrong_name", "expired"): then
     "ssl = required" with that certificate: the plain port offers STARTTLS
     and refuses LOGIN before it. implicit_tls=True also opens an IMAPS port
     (TLS from the first byte): imaps_port, imaps_url.
Login: only `user` with `password` (a passwd-file passdb); mail belongs to
uid/gid 65534 (nobody), as in the recipe this follows.

Loopback and "ssl = required": Dovecot counts a connection whose remote IP
equals its local IP (any 127.0.0.1 -> 127.0.0.1 connection) as secure and
then allows plain-text LOGIN without TLS, which would make "TLS required"
untestable here. So with tls (or relay=True) Dovecot listens on 127.0.0.2
and a small TCP relay on 127.0.0.1:port forwards each connection to it from
127.0.0.3: Dovecot then sees a remote client, announces LOGINDISABLED,
refuses LOGIN before STARTTLS ("NO [PRIVACYREQUIRED] Plaintext
authentication disallowed on non-secure (SSL/TLS) connections.") and
STARTTLS goes end to end through the relay (it only copies bytes).

deliver(raw, seen=False, flags="") drops one message file (RFC 5322 bytes)
into the Maildir: new/ (unseen) or, with seen/flags, cur/ with the ":2,"
info; files are owned by 65534 and get unique names. messages() lists the
files there. stop() (and atexit, and SIGTERM) ends the server via
`doveadm stop`, falling back to killing the master process named in its pid
file. The temp folder (mode 0755, so dovenull and nobody can traverse it) is
removed by stop() unless keep=True. The log is at `log_file`."""

import atexit
import imaplib
import itertools
import os
import shutil
import signal
import socket
import ssl
import subprocess
import tempfile
import threading
import time

from esctest import free_port

MAIL_UID = MAIL_GID = 65534

_live = set()
_live_lock = threading.Lock()
_counter = itertools.count(1)


class ImapServer:
    def __init__(self, user="dana", password="pw", tls=None, implicit_tls=False, port=None, imaps_port=None,
                 keep=False, relay=None):
        self.user = user
        self.password = password
        self.tls_variant = None if tls in (None, False) else ("good" if tls is True else tls)
        self.implicit_tls = implicit_tls and self.tls_variant is not None
        self.port = port or free_port()
        self.imaps_port = (imaps_port or free_port()) if self.implicit_tls else None
        self.keep = keep
        self.relay = self.tls_variant is not None if relay is None else relay
        self.listen_ip = "127.0.0.2" if self.relay else "127.0.0.1"
        self._inner_port = free_port() if self.relay else self.port
        self._inner_imaps_port = (free_port() if self.relay else self.imaps_port) if self.implicit_tls else None
        self._relays = []
        self.folder = None
        self._running = False

    # -- paths ----------------------------------------------------------------

    @property
    def maildir(self):
        return os.path.join(self.folder, "mail")

    @property
    def conf(self):
        return os.path.join(self.folder, "dovecot.conf")

    @property
    def log_file(self):
        return os.path.join(self.folder, "dovecot.log")

    @property
    def url(self):
        return f"imap://127.0.0.1:{self.port}"

    @property
    def imaps_url(self):
        return f"imaps://127.0.0.1:{self.imaps_port}" if self.imaps_port else None

    def mailbox_url(self, mailbox="INBOX"):
        return f"{self.url}/{mailbox}"

    # -- life -------------------------------------------------------------------

    def _write_config(self):
        d = self.folder
        tls_conf = "ssl = no\n"
        if self.tls_variant:
            import tlsca
            cert, key = tlsca.shared().cert(self.tls_variant)
            tls_conf = (f"ssl = required\nssl_cert = <{cert}\nssl_key = <{key}\n"
                        "ssl_min_protocol = TLSv1.2\n")
        imaps = ""
        if self.implicit_tls:
            imaps = f"""  inet_listener imaps {{
    address = {self.listen_ip}
    port = {self._inner_imaps_port}
    ssl = yes
  }}
"""
        with open(os.path.join(d, "passwd"), "w") as f:
            f.write(f"{self.user}:{{PLAIN}}{self.password}::::::\n")
        os.chmod(os.path.join(d, "passwd"), 0o644)
        text = f"""# esc tests: a throw-away Dovecot
protocols = imap
listen = {self.listen_ip}
base_dir = {d}/run
state_dir = {d}/run
log_path = {self.log_file}
{tls_conf}disable_plaintext_auth = no
auth_mechanisms = plain login
mail_location = maildir:{d}/mail
default_internal_user = dovenull
default_login_user = dovenull
first_valid_uid = 0
passdb {{
  driver = passwd-file
  args = scheme=PLAIN {d}/passwd
}}
userdb {{
  driver = static
  args = uid={MAIL_UID} gid={MAIL_GID} home={d}
}}
service imap-login {{
  chroot =
  inet_listener imap {{
    address = {self.listen_ip}
    port = {self._inner_port}
  }}
{imaps}}}
service anvil {{
  chroot =
}}
"""
        with open(self.conf, "w") as f:
            f.write(text)

    def start(self):
        if self._running:
            return self
        if self.folder is None:
            self.folder = tempfile.mkdtemp(prefix="esc-imap-")
            os.chmod(self.folder, 0o755)
            for sub in ("mail/cur", "mail/new", "mail/tmp", "run"):
                os.makedirs(os.path.join(self.folder, sub))
            if os.geteuid() == 0:
                for root, dirs, _files in os.walk(self.maildir):
                    os.chown(root, MAIL_UID, MAIL_GID)
            self._write_config()
        with _live_lock:
            _live.add(self)
        _install_handlers()
        # The master daemonizes and keeps whatever it inherits open: give it
        # files, not pipes, or waiting for its output never ends.
        self._running = True
        with open(os.path.join(self.folder, "dovecot.start.out"), "wb") as out:
            try:
                proc = subprocess.run(["dovecot", "-c", self.conf], stdin=subprocess.DEVNULL, stdout=out,
                                      stderr=subprocess.STDOUT, timeout=30)
            except subprocess.TimeoutExpired:
                self.stop_server()
                raise RuntimeError(f"dovecot did not start in time{self._log_tail()}") from None
        if proc.returncode != 0:
            self.stop_server()
            with open(os.path.join(self.folder, "dovecot.start.out"), errors="replace") as f:
                said = f.read()
            raise RuntimeError(f"dovecot failed to start: {said}{self._log_tail()}")
        ports = [self._inner_port] + ([self._inner_imaps_port] if self.implicit_tls else [])
        deadline = time.monotonic() + 15
        for port in ports:
            while True:
                try:
                    with socket.create_connection((self.listen_ip, port), timeout=1) as s:
                        s.settimeout(2)
                        if port == self._inner_port:
                            s.recv(100)  # the greeting
                    break
                except OSError:
                    if time.monotonic() > deadline:
                        self.stop()
                        raise RuntimeError(f"dovecot did not listen on {port}{self._log_tail()}")
                    time.sleep(0.05)
        if self.relay:
            self._relays = [_Relay(self.port, (self.listen_ip, self._inner_port))]
            if self.implicit_tls:
                self._relays.append(_Relay(self.imaps_port, (self.listen_ip, self._inner_imaps_port)))
        return self

    def _log_tail(self):
        try:
            with open(self.log_file, errors="replace") as f:
                return "\n--- dovecot.log ---\n" + "".join(f.readlines()[-20:])
        except OSError:
            return ""

    def _master_pid(self):
        try:
            with open(os.path.join(self.folder, "run", "master.pid")) as f:
                return int(f.read().strip())
        except (OSError, ValueError, TypeError):
            return None

    def stop_server(self):
        """Stop Dovecot, keeping the Maildir (start() brings it back)."""
        for r in self._relays:
            r.close()
        self._relays = []
        pid = self._master_pid() if self.folder else None
        if not self._running and not pid:
            return
        self._running = False
        subprocess.run(["doveadm", "-c", self.conf, "stop"], stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL, timeout=30)
        if pid:
            for _ in range(100):
                try:
                    os.kill(pid, 0)
                except ProcessLookupError:
                    break
                time.sleep(0.05)
            else:
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass

    def stop(self):
        """Stop Dovecot and (unless keep=True) remove the folder."""
        self.stop_server()
        with _live_lock:
            _live.discard(self)
        if self.folder and not self.keep:
            shutil.rmtree(self.folder, ignore_errors=True)
            self.folder = None

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()
        return False

    # -- mail -------------------------------------------------------------------

    def deliver(self, raw, seen=False, flags=""):
        """Put one message into the INBOX; returns its file name. raw: bytes
        (str is encoded as UTF-8; bare \\n line ends are left as they are)."""
        if isinstance(raw, str):
            raw = raw.encode("utf-8")
        flags = "".join(sorted(set(flags + ("S" if seen else ""))))
        now = time.time_ns()
        # Maildir names: seconds, then M<microseconds>: Dovecot gives UIDs in
        # name order, so deliveries get increasing UIDs.
        base = f"{now // 10**9}.M{(now // 1000) % 10**6:06d}P{os.getpid()}Q{next(_counter)}.esc-test"
        tmp = os.path.join(self.maildir, "tmp", base)
        with open(tmp, "wb") as f:
            f.write(raw)
        if os.geteuid() == 0:
            os.chown(tmp, MAIL_UID, MAIL_GID)
        os.chmod(tmp, 0o600)
        if flags:
            name = f"{base}:2,{flags}"
            os.rename(tmp, os.path.join(self.maildir, "cur", name))
        else:
            name = base
            os.rename(tmp, os.path.join(self.maildir, "new", name))
        return name

    def messages(self):
        """The message files in the Maildir: [(subfolder, name)]."""
        out = []
        for sub in ("new", "cur"):
            for name in sorted(os.listdir(os.path.join(self.maildir, sub))):
                out.append((sub, name))
        return out

    def client(self, tls=None):
        """An imaplib client, logged in as user (STARTTLS first when the
        server requires TLS; tls=False to skip it)."""
        c = imaplib.IMAP4("127.0.0.1", self.port, timeout=10)
        if tls is None:
            tls = self.tls_variant is not None
        if tls:
            import tlsca
            ctx = tlsca.shared().client_context()
            if self.tls_variant != "good":
                ctx.check_hostname = False
                ctx.verify_mode = ssl.CERT_NONE
            c.starttls(ssl_context=ctx)
        c.login(self.user, self.password)
        return c


class _Relay:
    """127.0.0.1:port -> target, each connection made from 127.0.0.3."""

    def __init__(self, port, target):
        self.target = target
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        deadline = time.monotonic() + 10
        while True:
            try:
                self.sock.bind(("127.0.0.1", port))
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)
        self.sock.listen(32)
        self.conns = set()
        self.lock = threading.Lock()
        self.closed = False
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while True:
            try:
                client, _ = self.sock.accept()
            except OSError:
                return
            try:
                upstream = socket.socket()
                upstream.bind(("127.0.0.3", 0))
                upstream.connect(self.target)
            except OSError:
                client.close()
                continue
            with self.lock:
                if self.closed:
                    client.close()
                    upstream.close()
                    return
                self.conns.update((client, upstream))
            pair = [client, upstream, 0]
            threading.Thread(target=self._pump, args=(client, upstream, pair), daemon=True).start()
            threading.Thread(target=self._pump, args=(upstream, client, pair), daemon=True).start()

    def _pump(self, src, dst, pair):
        try:
            while True:
                data = src.recv(65536)
                if not data:
                    break
                dst.sendall(data)
        except OSError:
            pass
        try:
            dst.shutdown(socket.SHUT_WR)
        except OSError:
            pass
        with self.lock:
            pair[2] += 1
            finished = pair[2] == 2
            if finished:
                self.conns.discard(pair[0])
                self.conns.discard(pair[1])
        if finished:
            for sock in pair[:2]:
                try:
                    sock.close()
                except OSError:
                    pass

    def close(self):
        with self.lock:
            self.closed = True
            conns = list(self.conns)
            self.conns.clear()
        try:
            self.sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self.sock.close()
        for c in conns:
            try:
                c.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            c.close()


# -- stopping whatever happens ------------------------------------------------------

_installed = False
_previous = None


def _stop_all():
    with _live_lock:
        servers = list(_live)
    for s in servers:
        try:
            s.stop()
        except Exception:
            pass


def _on_sigterm(signum, frame):
    _stop_all()
    if callable(_previous):
        _previous(signum, frame)
        return
    signal.signal(signum, signal.SIG_DFL)
    os.kill(os.getpid(), signum)


def _install_handlers():
    global _installed, _previous
    if _installed:
        return
    _installed = True
    atexit.register(_stop_all)
    if threading.current_thread() is threading.main_thread():
        try:
            prev = signal.getsignal(signal.SIGTERM)
            if prev in (signal.SIG_DFL, None) or callable(prev):
                _previous = prev if callable(prev) else None
                signal.signal(signal.SIGTERM, _on_sigterm)
        except (ValueError, OSError):
            pass
