"""Real servers on 127.0.0.1 for the delivery tests.

SmtpServer   an aiosmtpd server that stores every message it accepts
             (envelope sender, recipients and the raw bytes), and can be told
             to answer 451 (try again later) instead. Optionally offers
             STARTTLS (tls=ssl.SSLContext), can insist on it
             (require_starttls=True) or speak TLS from the first byte
             (implicit_tls=True), and notes for each AUTH and each message
             whether it came over TLS.
HttpReceiver an HTTP server that records every request (method, path,
             headers, body) and answers 200, 500, 404, or hangs longer than the
             client waits; it can be stopped and started again on the same
             port, as a network that goes away and comes back. Optionally
             HTTPS (tls=ssl.SSLContext), and it can answer any status with
             any headers and body (respond()), for good or for the next N
             requests only.
SilentServer a TCP port that accepts connections and never says a word.

Each is a context manager, and stop() is safe to call more than once, so a
test can hand it to addCleanup and stop it early as well."""

import collections
import email
import email.policy
import http
import http.server
import json
import socket
import ssl
import threading
import time
import urllib.parse

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
    def __init__(self, mail_from, rcpt_tos, data, tls=False, login=None):
        self.mail_from = mail_from
        self.rcpt_tos = list(rcpt_tos)
        self.data = data  # the message as sent, bytes
        self.tls = tls  # whether the session was encrypted when DATA came
        self.login = login  # the Login of the session's successful AUTH, or None

    def message(self):
        """The message parsed by Python's email package."""
        return email.message_from_bytes(self.data, policy=email.policy.default)


class Login:
    """One AUTH attempt: mechanism, auth_data (as aiosmtpd gives it, e.g.
    LoginPassword(login=b"..", password=b"..")), and whether the session was
    encrypted at the time."""

    def __init__(self, mechanism, auth_data, tls):
        self.mechanism = mechanism
        self.auth_data = auth_data
        self.tls = tls

    @property
    def login(self):
        return getattr(self.auth_data, "login", None)

    @property
    def password(self):
        return getattr(self.auth_data, "password", None)

    def __repr__(self):
        return f"<AUTH {self.mechanism} {self.login!r} tls={self.tls}>"


def _smtp_tls(smtp, session):
    """Whether an aiosmtpd session is encrypted: after STARTTLS aiosmtpd sets
    session.ssl; with implicit TLS the transport itself is an SSL one."""
    if getattr(session, "ssl", None) is not None:
        return True
    transport = getattr(smtp, "transport", None)
    return bool(transport is not None and transport.get_extra_info("ssl_object") is not None)


class _SmtpHandler:
    def __init__(self, server):
        self.server = server

    def handle_STARTTLS(self, smtp, session, envelope):
        # aiosmtpd calls this hook without awaiting it, once the handshake
        # is done; True accepts the session.
        with self.server.lock:
            self.server.starttls_count += 1
        return True

    async def handle_DATA(self, smtp, session, envelope):
        data = envelope.original_content if envelope.original_content is not None else envelope.content
        if isinstance(data, str):
            data = data.encode("utf-8", "surrogateescape")
        login = getattr(session, "_esc_login", None) if session.authenticated else None
        mail = ReceivedMail(envelope.mail_from, envelope.rcpt_tos, data, tls=_smtp_tls(smtp, session),
                            login=login)
        with self.server.lock:
            self.server.attempts.append(mail)
            if self.server.mode == "tempfail":
                return "451 4.3.0 Mailbox busy, try again later"
            self.server.messages.append(mail)
        return "250 2.0.0 Message accepted"


class SmtpServer(_Server):
    """aiosmtpd in a thread. `messages` holds what was accepted, `attempts`
    every DATA received (accepted or not), `logins` every AUTH tried as
    (mechanism, auth_data) tuples, `auths` the same as Login objects that
    also say whether the session was encrypted (Login.tls).
    mode: "ok" or "tempfail".

    tls: an ssl.SSLContext (e.g. tlsca.shared().server_context("good")):
         STARTTLS is offered with it. None (the default): no STARTTLS.
    require_starttls: with tls, refuse MAIL/AUTH/... until STARTTLS (530).
    implicit_tls: with tls, speak TLS from the first byte (SMTPS, "smtps://").
    auth_require_tls: refuse AUTH before TLS (538). Off by default, so that a
         client that would log in over plain text can be caught doing it.
    credentials: None (every AUTH succeeds, the default) or {user: password}
         (str); a wrong pair answers 535.
    `starttls_count` counts STARTTLS handshakes begun."""

    def __init__(self, port=None, tls=None, require_starttls=False, implicit_tls=False,
                 auth_require_tls=False, credentials=None):
        self.port = port or free_port()
        self.lock = threading.Lock()
        self.messages = []
        self.attempts = []
        self.logins = []
        self.auths = []
        self.starttls_count = 0
        self.mode = "ok"
        self.tls = tls
        self.require_starttls = require_starttls
        self.implicit_tls = implicit_tls
        self.auth_require_tls = auth_require_tls
        self.credentials = credentials
        self._controller = None
        if (require_starttls or implicit_tls) and tls is None:
            raise ValueError("require_starttls/implicit_tls need tls=<ssl.SSLContext>")

    def _authenticate(self, server, session, envelope, mechanism, auth_data):
        tls = _smtp_tls(server, session)
        login = Login(mechanism, auth_data, tls)
        with self.lock:
            self.logins.append((mechanism, auth_data))
            self.auths.append(login)
        if self.credentials is not None:
            user = login.login.decode("utf-8", "replace") if isinstance(login.login, bytes) else login.login
            password = login.password
            if isinstance(password, bytes):
                password = password.decode("utf-8", "replace")
            if self.credentials.get(user) != password or user is None:
                return AuthResult(success=False, handled=False)
        session._esc_login = login
        return AuthResult(success=True)

    def start(self):
        if self._controller:
            return
        kwargs = dict(hostname="127.0.0.1", port=self.port, ready_timeout=10,
                      authenticator=self._authenticate, auth_require_tls=self.auth_require_tls)
        if self.tls is not None and self.implicit_tls:
            kwargs["ssl_context"] = self.tls
        elif self.tls is not None:
            kwargs["tls_context"] = self.tls
            kwargs["require_starttls"] = self.require_starttls
        self._controller = Controller(_SmtpHandler(self), **kwargs)
        self._controller.start()

    def stop(self):
        if self._controller:
            self._controller.stop()
            self._controller = None

    @property
    def url(self):
        scheme = "smtps" if self.tls is not None and self.implicit_tls else "smtp"
        return f"{scheme}://127.0.0.1:{self.port}"


# ---- HTTP -----------------------------------------------------------------


class Request:
    def __init__(self, method, path, headers, body, tls=False, client=None):
        self.method = method
        self.path = path  # as sent: with its query string
        self.headers = headers  # an email.message.Message: case-insensitive get()
        self.body = body
        self.tls = tls  # whether it came over HTTPS
        self.client = client  # (host, port) of the client

    def json(self):
        return json.loads(self.body.decode("utf-8"))

    @property
    def route(self):
        """The path without its query string."""
        return urllib.parse.urlsplit(self.path).path

    @property
    def query(self):
        """The query string parsed: {name: [values]}."""
        return urllib.parse.parse_qs(urllib.parse.urlsplit(self.path).query, keep_blank_values=True)

    def __repr__(self):
        return f"<{self.method} {self.path} {len(self.body)} bytes>"


class Response:
    """A scripted answer: status, headers ({name: value} or [(name, value)]),
    body (bytes, str, or anything else is sent as JSON)."""

    def __init__(self, status, headers=None, body=None):
        self.status = status
        self.headers = list(headers.items()) if isinstance(headers, dict) else list(headers or [])
        if body is None:
            try:
                body = f"{status} {http.HTTPStatus(status).phrase}".encode()
            except ValueError:
                body = str(status).encode()
            if not any(k.lower() == "content-type" for k, _ in self.headers):
                self.headers.append(("Content-Type", "text/plain"))
        elif isinstance(body, str):
            body = body.encode("utf-8")
        elif not isinstance(body, bytes):
            body = json.dumps(body).encode("utf-8")
            if not any(k.lower() == "content-type" for k, _ in self.headers):
                self.headers.append(("Content-Type", "application/json"))
        self.body = body

    def __repr__(self):
        return f"<Response {self.status} {len(self.body)} bytes>"


class _HttpHandler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # answers "Expect: 100-continue" at once
    receiver = None  # set per server

    def log_message(self, *args):
        pass

    def _handle(self):
        r = self.receiver
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        tls = isinstance(self.connection, ssl.SSLSocket)
        with r.lock:
            r.requests.append(Request(self.command, self.path, self.headers, body, tls=tls,
                                      client=self.client_address))
            scripted = r._next_scripted()
            mode = r.mode
        extra_headers = []
        if scripted is not None:
            if scripted == "drop":
                self._drop()
                return
            if scripted == "hang":
                r._release.wait(r.hang_seconds)
                status, text = 200, b"ok"
            else:
                status, text, extra_headers = scripted.status, scripted.body, scripted.headers
        else:
            if mode == "hang":
                r._release.wait(r.hang_seconds)
            if mode == "drop":
                self._drop()
                return
            if mode == "error":
                status, text = 500, b"internal error: database unavailable"
            elif mode == "echo":
                # Error pages that quote the request, as many servers' do: plain
                # and as JSON with its slashes escaped.
                quoted = json.dumps(self.path).replace("/", "\\/")
                status, text = 404, f"no webhook at {self.path} {quoted}".encode()
            elif mode == "status" and r.response is not None:
                status, text, extra_headers = r.response.status, r.response.body, r.response.headers
            else:
                status, text = 200, b"ok"
        try:
            self.send_response(status)
            if not any(k.lower() == "content-type" for k, _ in extra_headers):
                self.send_header("Content-Type", "text/plain")
            for k, v in extra_headers:
                self.send_header(k, str(v))
            self.send_header("Content-Length", str(len(text)))
            self.send_header("Connection", "close")
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(text)
        except OSError:
            pass  # the client gave up waiting
        self.close_connection = True

    def _drop(self):
        """Closes the connection without a word of answer."""
        self.close_connection = True
        try:
            self.connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass

    do_POST = do_PUT = do_GET = do_PATCH = do_DELETE = do_HEAD = _handle


class _ThreadingServer(http.server.ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    tls_context = None  # set per server: wrap each accepted connection
    tls_failures = None  # a list to note failed handshakes in

    def finish_request(self, request, client_address):
        # Runs in the connection's own thread, so a client that never
        # finishes its TLS handshake holds up nobody else.
        if self.tls_context is not None:
            request.settimeout(10)
            try:
                request = self.tls_context.wrap_socket(request, server_side=True)
            except (ssl.SSLError, OSError) as e:
                if self.tls_failures is not None:
                    self.tls_failures.append(f"{client_address}: {e}")
                try:
                    request.close()
                except OSError:
                    pass
                return
            request.settimeout(None)
            try:
                super().finish_request(request, client_address)
            finally:
                try:
                    request.close()
                except OSError:
                    pass
            return
        super().finish_request(request, client_address)

    def shutdown_request(self, request):
        try:
            super().shutdown_request(request)
        except (ssl.SSLError, OSError):
            pass


class HttpReceiver(_Server):
    """Records each request in `requests`. mode: "ok" (200), "error" (500),
    "echo" (404 quoting the path it was asked for), "hang" (waits
    `hang_seconds` before answering), "drop" (closes the connection without
    answering), "status" (answers `response`, see respond()).

    tls: an ssl.SSLContext (e.g. tlsca.shared().server_context("good")) makes
    it HTTPS; url() then says https://. Failed handshakes are noted in
    `tls_failures` (a client that refused the certificate leaves one).

    respond(status, headers=None, body=None, times=None) answers `status`:
    for good (mode "status") when times is None, else for the next `times`
    requests only, after which the mode in force answers again. E.g.
        hook.respond(429, {"Retry-After": "120"}, times=1)
        hook.respond(503, {"Retry-After": "5"})
        hook.respond(400, body={"error": "bad payload"})   # JSON body
    drop_next(n) and hang_next(n) do the same for dropped and hung requests;
    ok() goes back to plain 200s and forgets what was queued."""

    def __init__(self, port=None, hang_seconds=30, tls=None):
        self.port = port or free_port()
        self.lock = threading.Lock()
        self.requests = []
        self.mode = "ok"
        self.hang_seconds = hang_seconds
        self.tls = tls
        self.tls_failures = []
        self.response = None
        self._queue = collections.deque()
        self._release = threading.Event()
        self._server = None
        self._thread = None

    # -- scripted answers ---------------------------------------------------

    def respond(self, status, headers=None, body=None, times=None):
        """Answer `status` with `headers` and `body`: for good, or for the
        next `times` requests. Returns the Response."""
        response = Response(status, headers, body)
        with self.lock:
            if times is None:
                self.response = response
                self.mode = "status"
            else:
                self._queue.extend([response] * times)
        return response

    def respond_sequence(self, *responses):
        """Queue several answers in order: each a Response, a status code,
        a (status, headers[, body]) tuple, "drop" or "hang"."""
        with self.lock:
            for r in responses:
                if isinstance(r, int):
                    r = Response(r)
                elif isinstance(r, tuple):
                    r = Response(*r)
                self._queue.append(r)

    def drop_next(self, n=1):
        with self.lock:
            self._queue.extend(["drop"] * n)

    def hang_next(self, n=1):
        with self.lock:
            self._queue.extend(["hang"] * n)

    def ok(self):
        """Back to 200 for everything, nothing queued."""
        with self.lock:
            self._queue.clear()
            self.response = None
            self.mode = "ok"

    @property
    def pending(self):
        """How many queued answers are still to be given."""
        with self.lock:
            return len(self._queue)

    def _next_scripted(self):
        # called with the lock held
        return self._queue.popleft() if self._queue else None

    # -- running ------------------------------------------------------------

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
        self._server.tls_context = self.tls
        self._server.tls_failures = self.tls_failures
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

    @property
    def scheme(self):
        return "https" if self.tls is not None else "http"

    def url(self, path="/"):
        return f"{self.scheme}://127.0.0.1:{self.port}{path}"

    @property
    def base_url(self):
        return f"{self.scheme}://127.0.0.1:{self.port}"

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
