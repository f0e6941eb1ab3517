"""Real servers on 127.0.0.1 for the delivery tests.

SmtpServer   an aiosmtpd server that stores every message it accepts
             (envelope sender, recipients and the raw bytes), and can be told
             to answer 451 (try again later) instead.
HttpReceiver an HTTP server that records every request (method, path,
             headers, body) and answers 200, 500, 404, or hangs longer than the
             client waits; it can be stopped and started again on the same
             port, as a network that goes away and comes back.
SilentServer a TCP port that accepts connections and never says a word.

Each is a context manager, and stop() is safe to call more than once, so a
test can hand it to addCleanup and stop it early as well."""

import email
import email.policy
import http.server
import json
import socket
import threading
import time

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult

from esctest import free_port


class _Server:
    def __enter__(self):
        self.start()
        return self

    def __exit__(self, *exc):
        self.stop()
        return False


# ---- SMTP -----------------------------------------------------------------


class ReceivedMail:
    def __init__(self, mail_from, rcpt_tos, data):
        self.mail_from = mail_from
        self.rcpt_tos = list(rcpt_tos)
        self.data = data  # the message as sent, bytes

    def message(self):
        """The message parsed by Python's email package."""
        return email.message_from_bytes(self.data, policy=email.policy.default)


class _SmtpHandler:
    def __init__(self, server):
        self.server = server

    async def handle_DATA(self, smtp, session, envelope):
        data = envelope.original_content if envelope.original_content is not None else envelope.content
        if isinstance(data, str):
            data = data.encode("utf-8", "surrogateescape")
        mail = ReceivedMail(envelope.mail_from, envelope.rcpt_tos, data)
        with self.server.lock:
            self.server.attempts.append(mail)
            if self.server.mode == "tempfail":
                return "451 4.3.0 Mailbox busy, try again later"
            self.server.messages.append(mail)
        return "250 2.0.0 Message accepted"


class SmtpServer(_Server):
    """aiosmtpd in a thread. `messages` holds what was accepted, `attempts`
    every DATA received (accepted or not), `logins` every AUTH tried.
    mode: "ok" or "tempfail"."""

    def __init__(self, port=None):
        self.port = port or free_port()
        self.lock = threading.Lock()
        self.messages = []
        self.attempts = []
        self.logins = []
        self.mode = "ok"
        self._controller = None

    def _authenticate(self, server, session, envelope, mechanism, auth_data):
        with self.lock:
            self.logins.append((mechanism, auth_data))
        return AuthResult(success=True)

    def start(self):
        if self._controller:
            return
        # AUTH is offered without TLS so that a client that would log in over
        # plain text can be caught doing it (see `logins`).
        self._controller = Controller(_SmtpHandler(self), hostname="127.0.0.1", port=self.port,
                                      ready_timeout=10, authenticator=self._authenticate,
                                      auth_require_tls=False)
        self._controller.start()

    def stop(self):
        if self._controller:
            self._controller.stop()
            self._controller = None

    @property
    def url(self):
        return f"smtp://127.0.0.1:{self.port}"


# ---- HTTP -----------------------------------------------------------------


class Request:
    def __init__(self, method, path, headers, body):
        self.method = method
        self.path = path
        self.headers = headers  # an email.message.Message: case-insensitive get()
        self.body = body

    def json(self):
        return json.loads(self.body.decode("utf-8"))

    def __repr__(self):
        return f"<{self.method} {self.path} {len(self.body)} bytes>"


class _HttpHandler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # answers "Expect: 100-continue" at once
    receiver = None  # set per server

    def log_message(self, *args):
        pass

    def _handle(self):
        r = self.receiver
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        with r.lock:
            r.requests.append(Request(self.command, self.path, self.headers, body))
            mode = r.mode
        if mode == "hang":
            r._release.wait(r.hang_seconds)
        if mode == "error":
            status, text = 500, b"internal error: database unavailable"
        elif mode == "echo":
            # Error pages that quote the request, as many servers' do: plain
            # and as JSON with its slashes escaped.
            quoted = json.dumps(self.path).replace("/", "\\/")
            status, text = 404, f"no webhook at {self.path} {quoted}".encode()
        else:
            status, text = 200, b"ok"
        try:
            self.send_response(status)
            self.send_header("Content-Type", "text/plain")
            self.send_header("Content-Length", str(len(text)))
            self.send_header("Connection", "close")
            self.end_headers()
            self.wfile.write(text)
        except OSError:
            pass  # the client gave up waiting
        self.close_connection = True

    do_POST = do_PUT = do_GET = _handle


class _ThreadingServer(http.server.ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True


class HttpReceiver(_Server):
    """Records each request in `requests`. mode: "ok" (200), "error" (500),
    "echo" (404 quoting the path it was asked for), "hang" (waits
    `hang_seconds` before answering)."""

    def __init__(self, port=None, hang_seconds=30):
        self.port = port or free_port()
        self.lock = threading.Lock()
        self.requests = []
        self.mode = "ok"
        self.hang_seconds = hang_seconds
        self._release = threading.Event()
        self._server = None
        self._thread = None

    def start(self):
        if self._server:
            return
        self._release.clear()
        handler = type("Handler", (_HttpHandler,), {"receiver": self})
        deadline = time.monotonic() + 10
        while True:
            try:
                self._server = _ThreadingServer(("127.0.0.1", self.port), handler)
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05},
                                        daemon=True)
        self._thread.start()

    def stop(self):
        """Stops listening: a connection to the port is refused until start()."""
        if not self._server:
            return
        self._release.set()
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(5)
        self._server = None

    def url(self, path="/"):
        return f"http://127.0.0.1:{self.port}{path}"

    def to(self, path):
        """The requests made to `path`."""
        with self.lock:
            return [r for r in self.requests if r.path == path]


# ---- a port that never answers ---------------------------------------------


class SilentServer(_Server):
    """Listens but never accepts: the kernel completes the TCP handshake and
    the client then waits for a greeting that never comes."""

    def __init__(self):
        self.port = None
        self._sock = None

    def start(self):
        if self._sock:
            return
        self._sock = socket.socket()
        self._sock.bind(("127.0.0.1", self.port or 0))
        self._sock.listen(16)
        self.port = self._sock.getsockname()[1]

    def stop(self):
        if self._sock:
            self._sock.close()
            self._sock = None
