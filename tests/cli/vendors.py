"""In-memory stand-ins for the vendors esc escalates to: Jira, GitHub and
PagerDuty, each an HTTP(S) server on 127.0.0.1 that follows the vendor's
documented REST API (paths, auth headers, status codes, JSON field names,
pagination, error bodies; the pages each follows are named in its
docstring). They keep state (issues, comments, incidents), record every
request, and offer Python methods with which a test plays the people on the
other side ("the next level": assign, comment, acknowledge, resolve, ...)
and the network's and vendor's failures (rate limits, 401, 500, a dropped
connection after the issue was created).

Common to all three (class _VendorServer):

    with JiraServer(tls=True) as jira:      # tls: None/False (http), True
        jira.base_url                       #   (tlsca "good"), a tlsca
        jira.requests                       #   variant name, or an SSLContext
        jira.requests_to("POST", "/rest/api/2/issue")

    Recorded requests: .method .path (with query) .route (without) .query
    ({name: [values]}) .headers (case-insensitive .get) .body (bytes) .json()
    .tls .status (what was answered; None if dropped) .auth (who it
    authenticated as, or None).

    Faults, consumed in order, each by the first request that matches
    (method=None: any method; path=None: any path, else a regex searched in
    the route):
        fail_next(n=1, status=500, headers=None, body=None, method=None, path=None)
        rate_limit_next(n=1, retry_after=120, ...)   vendor's own 429 (403 for GitHub optionally)
        unauthorized_next(n=1, ...)                  vendor's own 401 body
        server_error_next(n=1, status=500, ...)
        drop_next(n=1, ...)          close the connection, request NOT processed
        drop_after_create(n=1)       the create IS processed (the issue/event
                                     exists) but the client never hears back
        hang_next(n=1, seconds=30, ...)  answer (normally) only after `seconds`
        clear_faults()
    stop()/start() can be called any number of times; after stop() the port
    refuses connections, and start() listens on the same port again with the
    same state (a network that goes away and comes back).
    `clock`: None (real UTC time) or a callable returning an aware datetime,
    used for every timestamp the server makes.
"""

import base64
import collections
import datetime
import hashlib
import http
import http.server
import json
import re
import socket
import ssl
import threading
import time
import urllib.parse

from esctest import free_port


# ---------------------------------------------------------------------------
# plumbing shared by the three servers


def _utc(clock):
    now = clock() if clock else datetime.datetime.now(datetime.timezone.utc)
    if now.tzinfo is None:
        now = now.replace(tzinfo=datetime.timezone.utc)
    return now.astimezone(datetime.timezone.utc)


def _parse_when(value):
    """A datetime from a datetime or an ISO 8601 string (None stays None)."""
    if value is None or isinstance(value, datetime.datetime):
        if value is not None and value.tzinfo is None:
            value = value.replace(tzinfo=datetime.timezone.utc)
        return value
    text = value.strip().replace("Z", "+00:00")
    m = re.match(r"^(.*[T ]\d\d:\d\d(?::\d\d(?:\.\d+)?)?)([+-]\d\d)(\d\d)$", text)
    if m:  # Jira's +0000
        text = f"{m.group(1)}{m.group(2)}:{m.group(3)}"
    dt = datetime.datetime.fromisoformat(text)
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=datetime.timezone.utc)
    return dt


class Recorded:
    """One request as the server saw it."""

    def __init__(self, method, path, headers, body, tls, client):
        self.method = method
        self.path = path
        self.headers = headers
        self.body = body
        self.tls = tls
        self.client = client
        self.status = None  # filled in when answered; None if dropped
        self.auth = None  # who it authenticated as
        self.at = time.time()

    @property
    def route(self):
        return urllib.parse.urlsplit(self.path).path

    @property
    def query(self):
        return urllib.parse.parse_qs(urllib.parse.urlsplit(self.path).query, keep_blank_values=True)

    def arg(self, name, default=None):
        """The first value of query parameter `name`."""
        values = self.query.get(name)
        return values[0] if values else default

    def json(self):
        return json.loads(self.body.decode("utf-8"))

    def __repr__(self):
        return f"<{self.method} {self.path} -> {self.status}>"


class Reply:
    def __init__(self, status, body=None, headers=None, content_type="application/json; charset=utf-8"):
        self.status = status
        self.headers = list(headers.items()) if isinstance(headers, dict) else list(headers or [])
        if body is None:
            data = b""
        elif isinstance(body, bytes):
            data = body
        elif isinstance(body, str):
            data = body.encode("utf-8")
        else:
            data = json.dumps(body).encode("utf-8")
        self.body = data
        if not any(k.lower() == "content-type" for k, _ in self.headers) and (data or status != 204):
            self.headers.append(("Content-Type", content_type))


DROP = "drop"


class _Fault:
    def __init__(self, kind, count, method=None, path=None, status=None, headers=None, body=None,
                 seconds=None):
        self.kind = kind
        self.count = count
        self.method = method.upper() if method else None
        self.path = re.compile(path) if isinstance(path, str) else path
        self.status = status
        self.headers = headers
        self.body = body
        self.seconds = seconds

    def matches(self, rec, is_create):
        if self.kind == "drop_after_create" and not is_create:
            return False
        if self.method and rec.method != self.method:
            return False
        if self.path is not None and not self.path.search(rec.route):
            return False
        return True


class _Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    vendor = None  # set per server
    server_version = "fake"
    sys_version = ""

    def log_message(self, *args):
        pass

    def _read_body(self):
        if "chunked" in (self.headers.get("Transfer-Encoding") or "").lower():
            chunks = []
            while True:
                line = self.rfile.readline()
                size = int(line.split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    break
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
            return b"".join(chunks)
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def _handle(self):
        v = self.vendor
        body = self._read_body()
        rec = Recorded(self.command, self.path, self.headers, body,
                       isinstance(self.connection, ssl.SSLSocket), self.client_address)
        with v.lock:
            v.requests.append(rec)
        reply = v._serve(rec)
        if reply is DROP or reply is None:
            self.close_connection = True
            try:
                self.connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            return
        rec.status = reply.status
        try:
            self.send_response(reply.status)
            for k, val in reply.headers:
                self.send_header(k, str(val))
            self.send_header("Content-Length", str(len(reply.body)))
            if not v.keep_alive:
                self.send_header("Connection", "close")
                self.close_connection = True
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(reply.body)
        except OSError:
            self.close_connection = True

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = _handle


class _HTTPServer(http.server.ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    vendor = None

    def finish_request(self, request, client_address):
        v = self.vendor
        if v.tls_context is not None:
            request.settimeout(10)
            try:
                request = v.tls_context.wrap_socket(request, server_side=True)
            except (ssl.SSLError, OSError) as e:
                v.tls_failures.append(f"{client_address}: {e}")
                try:
                    request.close()
                except OSError:
                    pass
                return
            request.settimeout(None)
        with v.lock:
            v._connections.add(request)
        try:
            super().finish_request(request, client_address)
        finally:
            with v.lock:
                v._connections.discard(request)
            if v.tls_context is not None:
                try:
                    request.close()
                except OSError:
                    pass

    def shutdown_request(self, request):
        try:
            super().shutdown_request(request)
        except (ssl.SSLError, OSError):
            pass


def _tls_context(tls):
    if tls is None or tls is False:
        return None
    if isinstance(tls, ssl.SSLContext):
        return tls
    import tlsca
    return tlsca.shared().server_context("good" if tls is True else tls)


class _VendorServer:
    """Base: a threaded HTTP(S) server with request log and fault queue."""

    name = "vendor"

    def __init__(self, port=None, tls=None, keep_alive=True):
        self.port = port or free_port()
        self.tls_context = _tls_context(tls)
        self.keep_alive = keep_alive
        self.lock = threading.RLock()
        self.requests = []
        self.tls_failures = []
        self.clock = None
        self._faults = collections.deque()
        self._connections = set()
        self._release = threading.Event()
        self._httpd = None
        self._thread = None

    # -- life -------------------------------------------------------------

    def __enter__(self):
        self.start()
        return self

    def __exit__(self, *exc):
        self.stop()
        return False

    def start(self):
        if self._httpd:
            return self
        self._release.clear()
        handler = type("Handler", (_Handler,), {"vendor": self})
        deadline = time.monotonic() + 10
        while True:
            try:
                httpd = _HTTPServer(("127.0.0.1", self.port), handler)
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)
        httpd.vendor = self
        self._httpd = httpd
        self._thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05},
                                        daemon=True)
        self._thread.start()
        return self

    def stop(self):
        if not self._httpd:
            return
        self._release.set()
        self._httpd.shutdown()
        self._httpd.server_close()
        with self.lock:
            conns = list(self._connections)
        for c in conns:  # kept-alive connections go away with the server
            try:
                c.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        self._thread.join(5)
        self._httpd = None

    @property
    def running(self):
        return self._httpd is not None

    @property
    def scheme(self):
        return "https" if self.tls_context is not None else "http"

    @property
    def root_url(self):
        return f"{self.scheme}://127.0.0.1:{self.port}"

    @property
    def base_url(self):
        return self.root_url

    def url(self, path="/"):
        return self.base_url + path

    # -- log --------------------------------------------------------------

    def requests_to(self, method=None, path=None):
        """Recorded requests, filtered by method and route (exact string, or
        a compiled regex searched in the route)."""
        with self.lock:
            out = []
            for r in self.requests:
                if method and r.method != method.upper():
                    continue
                if path is not None:
                    if hasattr(path, "search"):
                        if not path.search(r.route):
                            continue
                    elif r.route != path:
                        continue
                out.append(r)
            return out

    def clear_requests(self):
        with self.lock:
            self.requests.clear()

    # -- faults -----------------------------------------------------------

    def _add(self, fault):
        with self.lock:
            self._faults.append(fault)
        return fault

    def fail_next(self, n=1, status=500, headers=None, body=None, method=None, path=None):
        """The next `n` matching requests answer `status` (body: the vendor's
        error body for that status unless given; bytes/str/JSON-able)."""
        return self._add(_Fault("status", n, method, path, status, headers, body))

    def server_error_next(self, n=1, status=500, method=None, path=None):
        return self.fail_next(n, status, method=method, path=path)

    def unauthorized_next(self, n=1, method=None, path=None):
        return self.fail_next(n, 401, method=method, path=path)

    def rate_limit_next(self, n=1, retry_after=120, method=None, path=None):
        return self.fail_next(n, 429, {"Retry-After": str(retry_after)} if retry_after is not None else None,
                              method=method, path=path)

    def drop_next(self, n=1, method=None, path=None):
        """Close the connection without answering; the request is not
        processed."""
        return self._add(_Fault("drop", n, method, path))

    def drop_after_create(self, n=1):
        """The next `n` create requests are processed (the issue, comment or
        event exists afterwards) but the connection is closed before any
        answer: the client cannot know whether it worked."""
        return self._add(_Fault("drop_after_create", n))

    def hang_next(self, n=1, seconds=30, method=None, path=None):
        """Answer the next `n` matching requests only after `seconds` (or when
        the server is stopped)."""
        return self._add(_Fault("hang", n, method, path, seconds=seconds))

    def clear_faults(self):
        with self.lock:
            self._faults.clear()

    @property
    def pending_faults(self):
        with self.lock:
            return sum(f.count for f in self._faults)

    def _take_fault(self, rec, is_create):
        with self.lock:
            for f in self._faults:
                if f.count > 0 and f.matches(rec, is_create):
                    f.count -= 1
                    if f.count == 0:
                        self._faults.remove(f)
                    return f
        return None

    # -- dispatch ---------------------------------------------------------

    def _serve(self, rec):
        pre = self._precheck(rec)
        if pre is not None:
            return pre
        is_create = self._is_create(rec)
        fault = self._take_fault(rec, is_create)
        if fault is not None:
            if fault.kind == "drop":
                return DROP
            if fault.kind == "hang":
                self._release.wait(fault.seconds)
            elif fault.kind == "status":
                return self._fault_reply(rec, fault)
        try:
            reply = self._route(rec)
        except _Error as e:
            reply = e.reply
        except Exception as e:  # a bug in the fake: say so loudly
            import traceback
            traceback.print_exc()
            reply = Reply(500, {"fake_server_error": repr(e)})
        if fault is not None and fault.kind == "drop_after_create":
            return DROP
        return reply

    def _precheck(self, rec):
        return None

    def _is_create(self, rec):
        return False

    def _fault_reply(self, rec, fault):
        body = fault.body if fault.body is not None else self._error_body(rec, fault.status)
        headers = self._fault_headers(rec, fault.status)
        headers.update(fault.headers or {})
        return Reply(fault.status, body, headers)

    def _fault_headers(self, rec, status):
        return {}

    def _error_body(self, rec, status):
        try:
            phrase = http.HTTPStatus(status).phrase
        except ValueError:
            phrase = str(status)
        return {"message": phrase}

    def _route(self, rec):
        raise NotImplementedError

    def now(self):
        return _utc(self.clock)


class _Error(Exception):
    def __init__(self, status, body, headers=None):
        super().__init__(status)
        self.reply = Reply(status, body, headers)


def _json_body(rec, error):
    """The request's JSON object, or raise the vendor's 400."""
    try:
        data = json.loads(rec.body.decode("utf-8") or "null")
    except (UnicodeDecodeError, ValueError):
        raise error() from None
    return data


def _int_arg(rec, name, default, lo=None, hi=None):
    raw = rec.arg(name)
    if raw in (None, ""):
        value = default
    else:
        try:
            value = int(raw)
        except ValueError:
            return None
    if lo is not None:
        value = max(lo, value)
    if hi is not None:
        value = min(hi, value)
    return value


def _basic(header):
    """(user, password) from an Authorization: Basic header, or None."""
    if not header or not header[:6].lower() == "basic ":
        return None
    try:
        user, _, password = base64.b64decode(header[6:].strip(), validate=True).decode("utf-8").partition(":")
    except (ValueError, UnicodeDecodeError):
        return None
    return user, password


# ---------------------------------------------------------------------------
# Jira


_CATEGORIES = {
    # https://developer.atlassian.com/cloud/jira/platform/rest/v2/api-group-workflow-status-categories/
    "new": {"id": 2, "key": "new", "colorName": "blue-gray", "name": "To Do"},
    "indeterminate": {"id": 4, "key": "indeterminate", "colorName": "yellow", "name": "In Progress"},
    "done": {"id": 3, "key": "done", "colorName": "green", "name": "Done"},
}
_DEFAULT_STATUSES = {"to do": "new", "open": "new", "backlog": "new", "selected for development": "new",
                     "in progress": "indeterminate", "in review": "indeterminate",
                     "waiting for support": "indeterminate", "waiting for customer": "indeterminate",
                     "done": "done", "closed": "done", "resolved": "done"}
_JIRA_ISSUE_FIELDS = {"summary", "description", "issuetype", "project", "priority", "labels", "assignee",
                      "reporter", "components", "environment", "duedate", "fixVersions", "versions"}


def _jira_time(dt):
    return dt.strftime("%Y-%m-%dT%H:%M:%S.") + f"{dt.microsecond // 1000:03d}" + "+0000"


class _JqlError(Exception):
    pass


_JQL_TOKEN = re.compile(r"""\s*(?:
    (?P<str>"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*')
  | (?P<op>!=|!~|>=|<=|=|~|>|<|\(|\)|,)
  | (?P<word>[^\s"'=!~<>(),]+)
)""", re.X)


def _jql_tokens(text):
    pos, out = 0, []
    text = text.strip()
    while pos < len(text):
        m = _JQL_TOKEN.match(text, pos)
        if not m or m.end() == pos:
            raise _JqlError(f"Error in the JQL Query: The character '{text[pos]}' is a reserved JQL "
                            f"character. You must enclose it in a string or use the escape '\\u{ord(text[pos]):04x}' "
                            f"instead. (line 1, character {pos + 1})")
        if m.group("str") is not None:
            raw = m.group("str")[1:-1]
            out.append(("str", re.sub(r"\\(.)", r"\1", raw)))
        elif m.group("op") is not None:
            out.append(("op", m.group("op")))
        else:
            out.append(("word", m.group("word")))
        pos = m.end()
    return out


class _Jql:
    """A small JQL: clauses `field OP value` with = != ~ !~ > >= < <= IN, NOT
    IN, IS [NOT] EMPTY/NULL, joined by AND / OR / NOT and parentheses, then
    ORDER BY field [ASC|DESC], ...  Values: "quoted", 'quoted' or bare words;
    functions currentUser(), now()."""

    def __init__(self, text):
        self.tokens = _jql_tokens(text or "")
        self.i = 0
        self.order = []
        self.tree = None
        if self.tokens and not self._kw("order"):
            self.tree = self._or()
        if self._kw("order"):
            self.i += 1
            if not self._kw("by"):
                raise _JqlError("Error in the JQL Query: Expecting 'by' but got the end of the query.")
            self.i += 1
            while True:
                field = self._value_token()
                direction = "asc"
                if self._kw("asc") or self._kw("desc"):
                    direction = self.tokens[self.i][1].lower()
                    self.i += 1
                self.order.append((field.lower(), direction))
                if self._peek() == ("op", ","):
                    self.i += 1
                    continue
                break
        if self.i != len(self.tokens):
            raise _JqlError(f"Error in the JQL Query: Expecting either 'OR' or 'AND' but got "
                            f"'{self.tokens[self.i][1]}'.")

    def _peek(self):
        return self.tokens[self.i] if self.i < len(self.tokens) else (None, None)

    def _kw(self, word):
        kind, val = self._peek()
        return kind == "word" and val.lower() == word

    def _or(self):
        node = self._and()
        while self._kw("or") or self._peek()[1] == "||":
            self.i += 1
            node = ("or", node, self._and())
        return node

    def _and(self):
        node = self._not()
        while self._kw("and") or self._peek()[1] == "&&":
            self.i += 1
            node = ("and", node, self._not())
        return node

    def _not(self):
        if self._kw("not"):
            self.i += 1
            return ("not", self._not())
        if self._peek() == ("op", "("):
            self.i += 1
            node = self._or()
            if self._peek() != ("op", ")"):
                raise _JqlError("Error in the JQL Query: Expecting ')' before the end of the query.")
            self.i += 1
            return node
        return self._clause()

    def _value_token(self):
        kind, val = self._peek()
        if kind not in ("str", "word"):
            raise _JqlError("Error in the JQL Query: Expecting a field name or value but got "
                            f"{'the end of the query' if kind is None else repr(val)}.")
        self.i += 1
        if kind == "word" and self._peek() == ("op", "("):  # a function call
            self.i += 1
            args = []
            while self._peek() != ("op", ")"):
                if self._peek() == ("op", ","):
                    self.i += 1
                    continue
                args.append(self._value_token())
            self.i += 1
            return ("fn", val.lower(), args)
        if kind == "word" and val.lower() in ("empty", "null"):
            return ("empty",)
        return val

    def _clause(self):
        field = self._value_token()
        if not isinstance(field, str):
            raise _JqlError("Error in the JQL Query: Expecting a field name.")
        kind, val = self._peek()
        negate = False
        if kind == "op" and val in ("=", "!=", "~", "!~", ">", ">=", "<", "<="):
            op = val
            self.i += 1
        elif self._kw("in"):
            op = "in"
            self.i += 1
        elif self._kw("not"):
            self.i += 1
            if not self._kw("in"):
                raise _JqlError("Error in the JQL Query: Expecting 'IN' after 'NOT'.")
            self.i += 1
            op = "in"
            negate = True
        elif self._kw("is"):
            self.i += 1
            op = "is"
            if self._kw("not"):
                self.i += 1
                negate = True
        else:
            raise _JqlError(f"Error in the JQL Query: Expecting operator but got "
                            f"{'the end of the query' if kind is None else repr(val)}. "
                            "Valid operators are '=', '!=', '~', '!~', 'in', 'not in', 'is', 'is not'.")
        if op == "in":
            if self._peek() != ("op", "("):
                raise _JqlError("Error in the JQL Query: Expecting '(' after 'IN'.")
            self.i += 1
            values = []
            while self._peek() != ("op", ")"):
                if self._peek() == ("op", ","):
                    self.i += 1
                    continue
                if self._peek()[0] is None:
                    raise _JqlError("Error in the JQL Query: Expecting ')' before the end of the query.")
                values.append(self._value_token())
            self.i += 1
        else:
            values = [self._value_token()]
        return ("clause", field.lower(), op, values, negate)


class JiraServer(_VendorServer):
    """Jira REST API v2 (Cloud and Data Center), in memory.

    Follows:
      https://developer.atlassian.com/cloud/jira/platform/rest/v2/api-group-issues/#api-rest-api-2-issue-post
      https://developer.atlassian.com/cloud/jira/platform/rest/v2/api-group-issues/#api-rest-api-2-issue-issueidorkey-get
      https://developer.atlassian.com/cloud/jira/platform/rest/v2/api-group-issue-search/#api-rest-api-2-search-get
      https://developer.atlassian.com/cloud/jira/platform/rest/v2/api-group-issue-search/#api-rest-api-2-search-jql-get
      https://developer.atlassian.com/cloud/jira/platform/rest/v2/api-group-issue-comments/#api-rest-api-2-issue-issueidorkey-comment-get
      https://developer.atlassian.com/server/jira/platform/jira-rest-api-example-create-issue-7897248/
      https://developer.atlassian.com/cloud/jira/platform/basic-auth-for-rest-apis/  (Basic email:api_token)
      https://confluence.atlassian.com/enterprise/using-personal-access-tokens-1026032365.html  (Bearer PAT)
      https://developer.atlassian.com/cloud/jira/platform/rate-limiting/  (429 + Retry-After)

    Endpoints (all JSON):
      POST /rest/api/2/issue                   201 {id, key, self}; 400 {errorMessages, errors{field: msg}}
      GET  /rest/api/2/issue/{idOrKey}?fields=a,b&expand=   {id, key, self, fields{...}}; 404
           expand=changelog adds changelog{startAt, maxResults, total, histories:[{id, author,
           created, items:[{field, fieldtype, from, fromString, to, toString}]}]}, oldest first
      PUT  /rest/api/2/issue/{idOrKey}         {fields{...}, update{labels:[{add|remove|set}]}} -> 204
      GET  /rest/api/2/issue/{idOrKey}/comment?startAt&maxResults&orderBy
                                               {startAt, maxResults, total, comments:[...]}
      POST /rest/api/2/issue/{idOrKey}/comment {body} -> 201 comment
      GET|POST /rest/api/2/search?jql&startAt&maxResults&fields   {expand, startAt, maxResults, total, issues}
      GET|POST /rest/api/2/search/jql?jql&nextPageToken&maxResults&fields
                                               {issues, nextPageToken?, isLast} (unbounded JQL -> 400)
      GET  /rest/api/2/myself, /rest/api/2/serverInfo, /rest/api/2/project/{key}
    Everything else: 404 {"errorMessages":["null for uri: ..."]}; a known path
    with the wrong method: 405.

    Auth: `Authorization: Basic base64(email:api_token)` for an (email, token)
    in `basic_credentials`, or `Authorization: Bearer PAT` for a PAT in
    `bearer_tokens`; anything else answers 401 {"errorMessages":["You are not
    authenticated. Authentication required to perform this operation."],
    "errors":{}}. flavor="cloud" accepts only Basic, "datacenter" only Bearer
    (and Basic username:password pairs you put in basic_credentials), "any"
    (the default) both. User objects have accountId (cloud, any) and
    name/key (datacenter, any).

    State: `issues` {key: issue dict} (see issue(key)); `projects` {key: name}.
    Test helpers (the other side's people):
      assign(key, name, email=None)    name None unassigns
      transition(key, status_name, category=None, by=None)  category new/indeterminate/done,
                                       guessed from well-known names when None; `by` (a name)
                                       is the changelog's author
      comment(key, author, body, created=None, email=None) -> comment dict
      resolve(key, resolution="Done", status="Done", by=None)
      reopen(key, status="To Do", by=None)
      label(key, *labels) / unlabel(key, *labels)
      add_issue(project, summary, description="", labels=(), ...) -> key
         (an issue made by someone else, e.g. an existing duplicate)
      issue(key) -> the internal issue dict; created() -> issues made over REST
      search_lag: seconds during which a new issue is not yet found by search
         (Jira's index is eventually consistent; 0 by default)
    Fault defaults: 429 with Retry-After and X-RateLimit-Reset, 401 with the
    errorMessages body, 5xx with {"errorMessages":["Internal server error"]}.
    """

    name = "jira"

    def __init__(self, port=None, tls=None, projects=("ESC",), email="esc-bot@example.com",
                 api_token="jira-api-token", pat="jira-pat", flavor="any", bot_name="esc bot",
                 issue_types=("Task", "Bug", "Story", "Epic", "Incident"),
                 priorities=("Highest", "High", "Medium", "Low", "Lowest"), keep_alive=True,
                 max_results_cap=100, search_lag=0.0):
        super().__init__(port, tls, keep_alive)
        self.flavor = flavor
        self.projects = {}
        for i, p in enumerate(projects):
            key, name = (p if isinstance(p, tuple) else (p, f"{p} project"))
            self.projects[key] = {"key": key, "name": name, "id": str(10000 + i)}
        # Cloud: Basic email:api_token. Data Center: Bearer PAT (Basic
        # username:password works there too: add pairs to basic_credentials).
        self.basic_credentials = {(email, api_token)} if email and api_token and flavor != "datacenter" else set()
        self.bearer_tokens = {pat} if pat and flavor != "cloud" else set()
        self.bot = {"name": bot_name, "email": email}
        self.issue_types = list(issue_types)
        self.priorities = list(priorities)
        self.max_results_cap = max_results_cap
        self.search_lag = search_lag
        self.issues = collections.OrderedDict()
        self._next_id = 10000
        self._next_comment = 10000
        self._counters = collections.Counter()
        self._status_ids = {}

    # -- helpers for objects ------------------------------------------------

    def _user(self, name, email=None):
        if name is None:
            return None
        ident = hashlib.sha1((email or name).encode()).hexdigest()[:24]
        slug = re.sub(r"[^a-z0-9]+", ".", name.lower()).strip(".") or "user"
        user = {"self": f"{self.base_url}/rest/api/2/user?accountId=557058:{ident}",
                "displayName": name, "active": True, "timeZone": "Etc/UTC"}
        if email:
            user["emailAddress"] = email
        if self.flavor in ("cloud", "any"):
            user["accountId"] = f"557058:{ident}"
            user["accountType"] = "atlassian"
        if self.flavor in ("datacenter", "any"):
            user["name"] = slug
            user["key"] = f"JIRAUSER{int(ident[:6], 16) % 100000}"
            if self.flavor == "datacenter":
                user["self"] = f"{self.base_url}/rest/api/2/user?username={slug}"
        return user

    def _status(self, name, category):
        sid = self._status_ids.setdefault(name.lower(), str(10000 + len(self._status_ids)))
        cat = dict(_CATEGORIES[category])
        cat["self"] = f"{self.base_url}/rest/api/2/statuscategory/{cat['id']}"
        return {"self": f"{self.base_url}/rest/api/2/status/{sid}", "description": "",
                "iconUrl": f"{self.base_url}/images/icons/statuses/generic.png", "name": name, "id": sid,
                "statusCategory": cat}

    def _find(self, id_or_key):
        with self.lock:
            if id_or_key in self.issues:
                return self.issues[id_or_key]
            for issue in self.issues.values():
                if issue["id"] == id_or_key or issue["key"].lower() == id_or_key.lower():
                    return issue
        return None

    def _new_issue(self, project, summary, description, issuetype, priority, labels, reporter, assignee,
                   extra=None, via_rest=False):
        with self.lock:
            self._counters[project] += 1
            key = f"{project}-{self._counters[project]}"
            iid = str(self._next_id)
            self._next_id += 1
            now = self.now()
            issue = {"id": iid, "key": key, "project": project, "summary": summary,
                     "description": description, "issuetype": issuetype, "priority": priority,
                     "labels": list(labels), "reporter": reporter, "assignee": assignee,
                     "status": ("To Do", "new"), "resolution": None, "resolutiondate": None, "histories": [],
                     "created": now, "updated": now, "comments": [], "extra": dict(extra or {}),
                     "via_rest": via_rest, "indexed_at": time.monotonic() + self.search_lag}
            self.issues[key] = issue
            return issue

    def _touch(self, issue):
        issue["updated"] = self.now()

    def _comment_json(self, issue, c):
        return {"self": f"{self.base_url}/rest/api/2/issue/{issue['id']}/comment/{c['id']}",
                "id": c["id"], "author": self._user(c["author"], c["email"]), "body": c["body"],
                "updateAuthor": self._user(c["author"], c["email"]), "created": _jira_time(c["created"]),
                "updated": _jira_time(c["updated"]), "jsdPublic": True}

    def _fields(self, issue, wanted):
        proj = self.projects[issue["project"]]
        type_id = str(10000 + (self.issue_types.index(issue["issuetype"]) if issue["issuetype"] in self.issue_types else 0))
        all_fields = {
            "summary": issue["summary"],
            "description": issue["description"],
            "issuetype": {"self": f"{self.base_url}/rest/api/2/issuetype/{type_id}", "id": type_id,
                          "name": issue["issuetype"], "subtask": False},
            "project": {"self": f"{self.base_url}/rest/api/2/project/{proj['id']}", "id": proj["id"],
                        "key": proj["key"], "name": proj["name"], "projectTypeKey": "software"},
            "priority": ({"self": f"{self.base_url}/rest/api/2/priority/{self.priorities.index(issue['priority']) + 1}",
                          "id": str(self.priorities.index(issue["priority"]) + 1), "name": issue["priority"]}
                         if issue["priority"] else None),
            "labels": list(issue["labels"]),
            "status": self._status(*issue["status"]),
            "statuscategorychangedate": _jira_time(issue["updated"]),
            "resolution": ({"self": f"{self.base_url}/rest/api/2/resolution/10000", "id": "10000",
                            "description": "Work has been completed on this issue.", "name": issue["resolution"]}
                           if issue["resolution"] else None),
            "resolutiondate": _jira_time(issue["resolutiondate"]) if issue["resolutiondate"] else None,
            "assignee": self._user(*issue["assignee"]) if issue["assignee"] else None,
            "reporter": self._user(*issue["reporter"]) if issue["reporter"] else None,
            "creator": self._user(*issue["reporter"]) if issue["reporter"] else None,
            "created": _jira_time(issue["created"]),
            "updated": _jira_time(issue["updated"]),
            "comment": {"comments": [self._comment_json(issue, c) for c in issue["comments"]],
                        "maxResults": len(issue["comments"]), "total": len(issue["comments"]), "startAt": 0},
        }
        all_fields.update(issue["extra"])
        if wanted is None:
            return all_fields
        out = {}
        include_all = "*all" in wanted or "*navigable" in wanted
        for name, value in all_fields.items():
            if (include_all or name in wanted) and f"-{name}" not in wanted:
                if name == "comment" and "*navigable" in wanted and "*all" not in wanted and name not in wanted:
                    continue
                out[name] = value
        return out

    def _issue_json(self, issue, wanted=None, expand=()):
        out = {"expand": "renderedFields,names,schema,operations,editmeta,changelog,versionedRepresentations",
               "id": issue["id"], "self": f"{self.base_url}/rest/api/2/issue/{issue['id']}", "key": issue["key"],
               "fields": self._fields(issue, wanted)}
        if "changelog" in expand:
            hs = issue["histories"]
            out["changelog"] = {"startAt": 0, "maxResults": len(hs), "total": len(hs), "histories": [
                {"id": h["id"], "author": self._user(h["author"]) if h["author"] else None,
                 "created": _jira_time(h["created"]), "items": [dict(i, fieldtype="jira") for i in h["items"]]}
                for h in hs]}
        return out

    def _history(self, issue, by, old_status, new_status):
        """A status change in the issue's changelog (with the lock held)."""
        if old_status == new_status:
            return
        self._next_history = getattr(self, "_next_history", 10000) + 1
        (old_name, _), (new_name, _) = old_status, new_status
        issue["histories"].append({"id": str(self._next_history), "author": by, "created": self.now(), "items": [
            {"field": "status", "from": self._status(*old_status)["id"], "fromString": old_name,
             "to": self._status(*new_status)["id"], "toString": new_name}]})

    # -- test helpers -------------------------------------------------------

    def issue(self, key):
        issue = self._find(key)
        if issue is None:
            raise KeyError(key)
        return issue

    def created(self):
        """The issues made through the REST API, oldest first."""
        with self.lock:
            return [i for i in self.issues.values() if i["via_rest"]]

    def add_issue(self, project, summary, description="", labels=(), issuetype="Task", priority="Medium",
                  reporter="someone else", status=None):
        issue = self._new_issue(project, summary, description, issuetype, priority, labels,
                                (reporter, None), None)
        issue["indexed_at"] = 0
        if status:
            self.transition(issue["key"], status)
        return issue["key"]

    def assign(self, key, name, email=None):
        with self.lock:
            issue = self.issue(key)
            issue["assignee"] = (name, email) if name else None
            self._touch(issue)

    def transition(self, key, status_name, category=None, by=None):
        category = category or _DEFAULT_STATUSES.get(status_name.lower(), "indeterminate")
        if category not in _CATEGORIES:
            raise ValueError(f"category must be one of {sorted(_CATEGORIES)}")
        with self.lock:
            issue = self.issue(key)
            self._history(issue, by, issue["status"], (status_name, category))
            issue["status"] = (status_name, category)
            if category != "done":
                issue["resolution"] = None
                issue["resolutiondate"] = None
            self._touch(issue)

    def resolve(self, key, resolution="Done", status="Done", by=None):
        with self.lock:
            issue = self.issue(key)
            self._history(issue, by, issue["status"], (status, "done"))
            issue["status"] = (status, "done")
            issue["resolution"] = resolution
            issue["resolutiondate"] = self.now()
            self._touch(issue)

    def reopen(self, key, status="To Do", by=None):
        self.transition(key, status, "new", by)

    def comment(self, key, author, body, created=None, email=None):
        with self.lock:
            issue = self.issue(key)
            when = _parse_when(created) or self.now()
            c = {"id": str(self._next_comment), "author": author, "email": email, "body": body,
                 "created": when, "updated": when}
            self._next_comment += 1
            issue["comments"].append(c)
            self._touch(issue)
            return self._comment_json(issue, c)

    def label(self, key, *labels):
        with self.lock:
            issue = self.issue(key)
            for lab in labels:
                if lab not in issue["labels"]:
                    issue["labels"].append(lab)
            self._touch(issue)

    def unlabel(self, key, *labels):
        with self.lock:
            issue = self.issue(key)
            issue["labels"] = [x for x in issue["labels"] if x not in labels]
            self._touch(issue)

    # -- HTTP ---------------------------------------------------------------

    def _error_body(self, rec, status):
        if status == 401:
            return {"errorMessages": ["You are not authenticated. Authentication required to perform this operation."],
                    "errors": {}}
        if status == 429:
            return {"errorMessages": ["Rate limit exceeded."], "errors": {}}
        if status >= 500:
            return {"errorMessages": ["Internal server error"], "errors": {}}
        try:
            phrase = http.HTTPStatus(status).phrase
        except ValueError:
            phrase = str(status)
        return {"errorMessages": [phrase], "errors": {}}

    def _fault_headers(self, rec, status):
        if status == 429:
            reset = self.now() + datetime.timedelta(seconds=120)
            return {"X-RateLimit-Reset": reset.strftime("%Y-%m-%dT%H:%MZ"), "RateLimit-Reason": "jira-burst-based"}
        return {}

    def _is_create(self, rec):
        return rec.method == "POST" and re.fullmatch(r"/rest/api/(2|latest)/issue(/[^/]+/comment)?/?", rec.route) is not None

    def _authenticate(self, rec):
        header = rec.headers.get("Authorization") or ""
        if header[:7].lower() == "bearer " and self.flavor in ("datacenter", "any"):
            if header[7:].strip() in self.bearer_tokens:
                return self.bot
        pair = _basic(header)
        if pair is not None and pair in self.basic_credentials:
            return {"name": self.bot["name"], "email": pair[0]}
        return None

    @staticmethod
    def _err(status, messages=(), errors=None):
        return _Error(status, {"errorMessages": list(messages), "errors": errors or {}})

    def _route(self, rec):
        route = rec.route
        m = re.fullmatch(r"/rest/api/(?:2|latest)(/.*)", route)
        if not m:
            raise self._err(404, [f"null for uri: {self.base_url}{route}"])
        sub = m.group(1).rstrip("/") or "/"
        who = self._authenticate(rec)
        if who is None:
            raise _Error(401, self._error_body(rec, 401))
        rec.auth = who.get("email") or who.get("name")
        routes = [
            (r"/issue", {"POST": self._create}),
            (r"/issue/([^/]+)", {"GET": self._get_issue, "PUT": self._edit_issue}),
            (r"/issue/([^/]+)/comment", {"GET": self._get_comments, "POST": self._add_comment}),
            (r"/search", {"GET": self._search, "POST": self._search}),
            (r"/search/jql", {"GET": self._search_jql, "POST": self._search_jql}),
            (r"/myself", {"GET": lambda r: Reply(200, self._user(self.bot["name"], who.get("email")))}),
            (r"/serverInfo", {"GET": lambda r: Reply(200, {"baseUrl": self.base_url, "version": "1001.0.0-SNAPSHOT",
                                                          "deploymentType": "Cloud" if self.flavor != "datacenter" else "Server",
                                                          "serverTitle": "Jira"})}),
            (r"/project/([^/]+)", {"GET": self._get_project}),
        ]
        for pattern, methods in routes:
            pm = re.fullmatch(pattern, sub)
            if pm:
                fn = methods.get(rec.method)
                if fn is None:
                    raise _Error(405, {"errorMessages": ["Method Not Allowed"], "errors": {}},
                                 {"Allow": ", ".join(methods)})
                return fn(rec, *pm.groups())
        raise self._err(404, [f"null for uri: {self.base_url}{route}"])

    def _bad_json(self):
        return self._err(400, ["Unexpected character: the request body is not valid JSON"])

    def _create(self, rec):
        data = _json_body(rec, self._bad_json)
        if not isinstance(data, dict) or not isinstance(data.get("fields"), dict):
            raise self._err(400, ["Can not deserialize instance of issue out of the request: 'fields' is required"])
        fields = data["fields"]
        errors = {}
        proj = fields.get("project") or {}
        pkey = None
        if isinstance(proj, dict):
            for p in self.projects.values():
                if proj.get("key") == p["key"] or str(proj.get("id")) == p["id"]:
                    pkey = p["key"]
        if pkey is None:
            errors["project"] = "Specify a valid project ID or key"
        summary = fields.get("summary")
        if not isinstance(summary, str) or not summary.strip():
            errors["summary"] = "You must specify a summary of the issue."
        elif "\n" in summary or "\r" in summary:
            errors["summary"] = "The summary is invalid because it contains newline characters."
        elif len(summary) > 255:
            errors["summary"] = "Summary must be less than 255 characters."
        itype = fields.get("issuetype") or {}
        tname = None
        if isinstance(itype, dict):
            for i, t in enumerate(self.issue_types):
                if itype.get("name") == t or str(itype.get("id")) == str(10000 + i):
                    tname = t
        if tname is None:
            errors["issuetype"] = "Specify an issue type"
        pname = "Medium" if "Medium" in self.priorities else self.priorities[0]
        if "priority" in fields:
            pr = fields["priority"] or {}
            pname = None
            if isinstance(pr, dict):
                for i, p in enumerate(self.priorities):
                    if pr.get("name") == p or str(pr.get("id")) == str(i + 1):
                        pname = p
            if pname is None:
                errors["priority"] = f"Priority name '{pr.get('name') if isinstance(pr, dict) else pr}' is not valid"
        labels = fields.get("labels", [])
        if not isinstance(labels, list) or not all(isinstance(x, str) for x in labels):
            errors["labels"] = "Field 'labels' must be an array of strings."
        else:
            for lab in labels:
                if re.search(r"\s", lab):
                    errors["labels"] = f"The label '{lab}' contains spaces which is invalid."
                elif len(lab) > 255:
                    errors["labels"] = "The label must not exceed 255 characters."
        description = fields.get("description")
        if description is not None and not isinstance(description, str):
            errors["description"] = "Operation value must be a string"
        extra = {}
        for name in fields:
            if name in _JIRA_ISSUE_FIELDS:
                continue
            if name.startswith("customfield_"):
                extra[name] = fields[name]
                continue
            errors[name] = f"Field '{name}' cannot be set. It is not on the appropriate screen, or unknown."
        if errors:
            raise self._err(400, [], errors)
        assignee = None
        a = fields.get("assignee")
        if isinstance(a, dict):
            aname = a.get("name") or a.get("accountId") or a.get("id")
            assignee = (aname, a.get("emailAddress")) if aname else None
        issue = self._new_issue(pkey, summary, description or "", tname, pname, labels,
                                (self.bot["name"], self.bot["email"]), assignee, extra, via_rest=True)
        return Reply(201, {"id": issue["id"], "key": issue["key"],
                           "self": f"{self.base_url}/rest/api/2/issue/{issue['id']}"})

    def _not_found(self):
        return self._err(404, ["Issue does not exist or you do not have permission to see it."])

    @staticmethod
    def _wanted(rec, values=None):
        if values is None:
            raw = rec.query.get("fields")
            if not raw:
                return None
            values = []
            for r in raw:
                values.extend(x.strip() for x in r.split(","))
        values = [v for v in values if v]
        return set(values) if values else None

    def _get_issue(self, rec, key):
        issue = self._find(urllib.parse.unquote(key))
        if issue is None:
            raise self._not_found()
        expand = {x.strip() for v in rec.query.get("expand", []) for x in v.split(",")}
        with self.lock:
            return Reply(200, self._issue_json(issue, self._wanted(rec), expand))

    def _edit_issue(self, rec, key):
        issue = self._find(urllib.parse.unquote(key))
        if issue is None:
            raise self._not_found()
        data = _json_body(rec, self._bad_json)
        if not isinstance(data, dict):
            raise self._bad_json()
        with self.lock:
            for name, value in (data.get("fields") or {}).items():
                if name in ("summary", "description"):
                    issue[name] = value
                elif name == "labels":
                    issue["labels"] = list(value)
                elif name.startswith("customfield_"):
                    issue["extra"][name] = value
                else:
                    raise self._err(400, [], {name: f"Field '{name}' cannot be set. It is not on the appropriate screen, or unknown."})
            for op in (data.get("update") or {}).get("labels", []):
                for verb, value in op.items():
                    if verb == "add" and value not in issue["labels"]:
                        issue["labels"].append(value)
                    elif verb == "remove":
                        issue["labels"] = [x for x in issue["labels"] if x != value]
                    elif verb == "set":
                        issue["labels"] = list(value)
            self._touch(issue)
        return Reply(204)

    def _get_comments(self, rec, key):
        issue = self._find(urllib.parse.unquote(key))
        if issue is None:
            raise self._not_found()
        start = _int_arg(rec, "startAt", 0, lo=0)
        maxr = _int_arg(rec, "maxResults", 5000, lo=0, hi=5000)
        if start is None or maxr is None:
            raise self._err(400, ["Invalid pagination parameter"])
        order = rec.arg("orderBy", "created")
        with self.lock:
            comments = list(issue["comments"])
            comments.sort(key=lambda c: (c["created"], int(c["id"])), reverse=order.startswith("-"))
            page = comments[start:start + maxr]
            return Reply(200, {"startAt": start, "maxResults": maxr, "total": len(comments),
                               "comments": [self._comment_json(issue, c) for c in page]})

    def _add_comment(self, rec, key):
        issue = self._find(urllib.parse.unquote(key))
        if issue is None:
            raise self._not_found()
        data = _json_body(rec, self._bad_json)
        if not isinstance(data, dict) or not isinstance(data.get("body"), str) or not data["body"].strip():
            raise self._err(400, [], {"comment": "Comment body can not be empty!"})
        c = self.comment(issue["key"], self.bot["name"], data["body"], email=self.bot["email"])
        return Reply(201, c)

    def _get_project(self, rec, key):
        key = urllib.parse.unquote(key)
        for p in self.projects.values():
            if p["key"] == key or p["id"] == key:
                return Reply(200, {"self": f"{self.base_url}/rest/api/2/project/{p['id']}", "id": p["id"],
                                   "key": p["key"], "name": p["name"], "projectTypeKey": "software"})
        raise self._err(404, [f"No project could be found with key '{key}'."])

    # -- JQL ------------------------------------------------------------------

    def _search_params(self, rec):
        if rec.method == "POST":
            data = _json_body(rec, self._bad_json)
            if not isinstance(data, dict):
                raise self._bad_json()
            fields = data.get("fields")
            wanted = self._wanted(rec, fields if isinstance(fields, list) else
                                  (fields.split(",") if isinstance(fields, str) else None))
            return (data.get("jql") or "", data.get("startAt", 0), data.get("maxResults", 50), wanted,
                    data.get("nextPageToken"))
        return (rec.arg("jql", ""), _int_arg(rec, "startAt", 0, lo=0), _int_arg(rec, "maxResults", 50, lo=0),
                self._wanted(rec), rec.arg("nextPageToken"))

    def _run_jql(self, rec, jql):
        try:
            q = _Jql(jql)
        except _JqlError as e:
            raise self._err(400, [str(e)]) from None
        who = self._authenticate(rec) or self.bot
        self._validate_jql(q.tree)
        now_mono = time.monotonic()
        with self.lock:
            found = [i for i in self.issues.values()
                     if i["indexed_at"] <= now_mono and (q.tree is None or self._match(q.tree, i, who))]
        order = q.order or [("key", "desc")]
        for field, direction in reversed(order):
            found.sort(key=lambda i, f=field: self._sort_key(i, f), reverse=direction == "desc")
        return q, found

    def _sort_key(self, issue, field):
        if field in ("key", "issuekey", "id"):
            return (issue["project"], int(issue["id"]))
        if field in ("created", "updated", "resolutiondate"):
            return issue[field] or datetime.datetime.min.replace(tzinfo=datetime.timezone.utc)
        if field == "priority":
            return self.priorities.index(issue["priority"]) if issue["priority"] in self.priorities else 99
        if field == "summary":
            return issue["summary"].lower()
        if field == "status":
            return issue["status"][0].lower()
        raise self._err(400, [f"Error in the JQL Query: '{field}' is not a valid field to sort by."])

    _JQL_FIELDS = {"project", "labels", "label", "status", "statuscategory", "key", "issuekey", "id",
                   "assignee", "reporter", "creator", "resolution", "summary", "description", "text",
                   "priority", "issuetype", "type", "created", "createddate", "updated", "updateddate",
                   "resolutiondate", "resolved", "comment"}

    def _validate_jql(self, node):
        if node is None:
            return
        if node[0] in ("and", "or"):
            self._validate_jql(node[1])
            self._validate_jql(node[2])
            return
        if node[0] == "not":
            self._validate_jql(node[1])
            return
        _, field, op, values, _neg = node
        if field not in self._JQL_FIELDS:
            raise self._err(400, [f"Field '{field}' does not exist or you do not have permission to view it."])
        if field == "project" and op in ("=", "!=", "in"):
            for v in values:
                if isinstance(v, str) and not any(v.lower() in (p["key"].lower(), p["name"].lower(), p["id"])
                                                  for p in self.projects.values()):
                    raise self._err(400, [f"The value '{v}' does not exist for the field 'project'."])
        if op in ("~", "!~") and field not in ("summary", "description", "text", "comment"):
            raise self._err(400, [f"The operator '{op}' is not supported by the '{field}' field."])

    def _value(self, v, who):
        if isinstance(v, tuple) and v[0] == "fn":
            if v[1] == "currentuser":
                return who.get("name")
            if v[1] == "now":
                return self.now()
            if v[1] in ("startofday", "endofday"):
                d = self.now().replace(hour=0, minute=0, second=0, microsecond=0)
                return d if v[1] == "startofday" else d + datetime.timedelta(days=1)
            raise self._err(400, [f"Unable to find JQL function '{v[1]}()'."])
        return v

    def _when(self, v):
        if isinstance(v, datetime.datetime):
            return v
        m = re.fullmatch(r"([+-]?)(\d+)([mhdw])", v.strip())
        if m:
            unit = {"m": "minutes", "h": "hours", "d": "days", "w": "weeks"}[m.group(3)]
            delta = datetime.timedelta(**{unit: int(m.group(2))})
            return self.now() - delta if m.group(1) == "-" else self.now() + delta
        try:
            return _parse_when(v.replace("/", "-"))
        except ValueError:
            raise self._err(400, [f"Date value '{v}' for field is invalid."]) from None

    def _match(self, node, issue, who):
        kind = node[0]
        if kind == "and":
            return self._match(node[1], issue, who) and self._match(node[2], issue, who)
        if kind == "or":
            return self._match(node[1], issue, who) or self._match(node[2], issue, who)
        if kind == "not":
            return not self._match(node[1], issue, who)
        _, field, op, values, negate = node
        values = [self._value(v, who) for v in values]
        project = self.projects[issue["project"]]

        def candidates():
            if field == "project":
                return [project["key"], project["name"], project["id"]]
            if field in ("labels", "label"):
                return list(issue["labels"])
            if field == "status":
                return [issue["status"][0]]
            if field == "statuscategory":
                c = _CATEGORIES[issue["status"][1]]
                return [c["key"], c["name"], str(c["id"])]
            if field in ("key", "issuekey", "id"):
                return [issue["key"], issue["id"]]
            if field == "assignee":
                return [x for x in (issue["assignee"] or ()) if x]
            if field in ("reporter", "creator"):
                return [x for x in (issue["reporter"] or ()) if x]
            if field == "resolution":
                return [issue["resolution"]] if issue["resolution"] else []
            if field == "priority":
                return [issue["priority"]] if issue["priority"] else []
            if field in ("issuetype", "type"):
                return [issue["issuetype"]]
            return []

        if field in ("summary", "description", "text", "comment"):
            texts = {"summary": [issue["summary"]], "description": [issue["description"] or ""],
                     "comment": [c["body"] for c in issue["comments"]]}
            texts["text"] = texts["summary"] + texts["description"] + texts["comment"]
            hay = " ".join(texts[field]).lower()
            if op in ("~", "!~"):
                needle = str(values[0]).lower().strip("*")
                words = re.findall(r"[a-z0-9]+", needle)
                hay_words = re.findall(r"[a-z0-9]+", hay)
                hit = needle in hay if not words else any(
                    hay_words[i:i + len(words)] == words for i in range(len(hay_words) - len(words) + 1))
                return hit if op == "~" else not hit
            if op == "is":
                empty = not hay.strip()
                return (not empty) if negate else empty
            raise self._err(400, [f"The operator '{op}' is not supported by the '{field}' field."])

        if field in ("created", "createddate", "updated", "updateddate", "resolutiondate", "resolved"):
            attr = {"createddate": "created", "updateddate": "updated", "resolved": "resolutiondate"}.get(field, field)
            value = issue[attr]
            if op == "is":
                return (value is not None) if negate else (value is None)
            if value is None:
                return False
            if op == "in":
                hit = any(value == self._when(v) for v in values)
                return not hit if negate else hit
            when = self._when(values[0])
            return {"=": value == when, "!=": value != when, ">": value > when, ">=": value >= when,
                    "<": value < when, "<=": value <= when}[op]

        have = [c.lower() for c in candidates()]
        if op == "is":
            if values and values[0] != ("empty",):
                raise self._err(400, ["Error in the JQL Query: Expecting 'EMPTY' or 'NULL' after 'IS'."])
            empty = not have
            return (not empty) if negate else empty
        if op in ("=", "!=", "in"):
            wanted = []
            for v in values:
                if v == ("empty",):
                    wanted.append(None)
                elif field == "resolution" and str(v).lower() == "unresolved":
                    wanted.append(None)
                else:
                    wanted.append(str(v).lower())
            hit = any((w is None and not have) or (w is not None and w in have) for w in wanted)
            if op == "!=":
                return not hit
            return not hit if negate else hit
        raise self._err(400, [f"The operator '{op}' is not supported by the '{field}' field."])

    def _search(self, rec):
        jql, start, maxr, wanted, _token = self._search_params(rec)
        if start is None or maxr is None:
            raise self._err(400, ["Invalid pagination parameter"])
        maxr = min(maxr, self.max_results_cap)
        _q, found = self._run_jql(rec, jql)
        if wanted is None:
            wanted = {"*navigable"}
        with self.lock:
            page = [self._issue_json(i, wanted) for i in found[start:start + maxr]]
        return Reply(200, {"expand": "schema,names", "startAt": start, "maxResults": maxr, "total": len(found),
                           "issues": page})

    def _search_jql(self, rec):
        jql, _start, maxr, wanted, token = self._search_params(rec)
        if maxr is None:
            raise self._err(400, ["Invalid pagination parameter"])
        maxr = min(maxr, 5000 if wanted is None else self.max_results_cap)
        q, found = self._run_jql(rec, jql)
        if q.tree is None:
            raise self._err(400, ["Unbounded JQL queries are not allowed here. Please add a search restriction "
                                  "to your query."])
        start = 0
        if token:
            try:
                start = int(base64.urlsafe_b64decode(token.encode()).decode().split(":")[1])
            except (ValueError, IndexError, UnicodeDecodeError):
                raise self._err(400, ["The provided next page token is invalid or expired."]) from None
        if wanted is None:
            wanted = {"id"}
        with self.lock:
            page = []
            for i in found[start:start + maxr]:
                item = self._issue_json(i, wanted - {"id"} or {"__none__"})
                if "fields" in item and not item["fields"]:
                    del item["fields"]
                page.append(item)
        out = {"issues": page, "isLast": start + maxr >= len(found)}
        if not out["isLast"]:
            out["nextPageToken"] = base64.urlsafe_b64encode(f"p:{start + maxr}".encode()).decode()
        return Reply(200, out)


# ---------------------------------------------------------------------------
# GitHub


class GitHubServer(_VendorServer):
    """GitHub REST API (issues, issue comments, search), in memory.

    Follows:
      https://docs.github.com/en/rest/issues/issues#create-an-issue
      https://docs.github.com/en/rest/issues/issues#get-an-issue
      https://docs.github.com/en/rest/issues/comments#list-issue-comments
      https://docs.github.com/en/rest/issues/comments#create-an-issue-comment
      https://docs.github.com/en/rest/search/search#search-issues-and-pull-requests
      https://docs.github.com/en/search-github/searching-on-github/searching-issues-and-pull-requests
      https://docs.github.com/en/rest/using-the-rest-api/using-pagination-in-the-rest-api  (Link header)
      https://docs.github.com/en/rest/using-the-rest-api/rate-limits-for-the-rest-api  (x-ratelimit-*, retry-after)
      https://docs.github.com/en/rest/using-the-rest-api/troubleshooting-the-rest-api  (User-Agent required, 422)
      https://docs.github.com/en/rest/authentication/authenticating-to-the-rest-api  (Bearer / token)

    Endpoints (under base_url, which includes api_prefix, e.g. "/api/v3" for
    GitHub Enterprise Server):
      POST /repos/{o}/{r}/issues                {title, body, labels, assignees, assignee, milestone}
                                                -> 201 issue, Location header; 422 without title; 404 no repo
      GET  /repos/{o}/{r}/issues?state&sort&direction&labels&since&per_page&page   [issue], Link header
           (List repository issues: state open|closed|all, default open; sort created|updated|comments,
           default created; direction asc|desc, default desc; not the search index, so a new issue is
           listed at once)
      GET  /repos/{o}/{r}/issues/{n}            issue; 404 {"message":"Not Found",...}
      PATCH /repos/{o}/{r}/issues/{n}           {state, state_reason, title, body, labels, assignees}
      GET  /repos/{o}/{r}/issues/{n}/comments?since&per_page&page   [comment], Link header
      POST /repos/{o}/{r}/issues/{n}/comments   {body} -> 201 comment
      GET  /search/issues?q&sort&order&per_page&page   {total_count, incomplete_results, items}
           q: free words and "quoted phrases" (token match, case-insensitive), in:title,body,comments,
           repo:o/r, org:/user:, label:x (label:a,b = either), -label:x, is:issue|pr|open|closed,
           type:issue|pr, state:open|closed, author:, assignee:, no:assignee|label, reason:.
           With require_is_issue (the default, as GitHub does since 2025) a q without
           is:issue / is:pull-request / type:issue / type:pr answers 422
           "Query must include 'is:issue' or 'is:pull-request'".
           An unknown repo: 422 "The listed users and repositories cannot be searched ...".
      GET  /user, /repos/{o}/{r}, /rate_limit
    Every response carries x-ratelimit-limit/-remaining/-used/-reset/-resource
    and x-github-api-version-selected; `rate_remaining` counts down.

    Auth: `Authorization: Bearer TOKEN` or `Authorization: token TOKEN` for a
    TOKEN in `tokens`. None: 401 {"message":"Requires authentication",...};
    a wrong one: 401 {"message":"Bad credentials","documentation_url":...,
    "status":"401"}. No User-Agent header: 403 text/plain "Request forbidden by
    administrative rules. Please make sure your request has a User-Agent
    header ..." (checked before anything else).

    Rate limits (what a test sets):
      exhaust_rate_limit(reset_in=60, status=403)   primary: x-ratelimit-remaining: 0,
           x-ratelimit-reset: epoch; every request answers `status` until then
      secondary_rate_limit_next(n=1, retry_after=60, status=403)
      rate_limit_next(n=1, retry_after=120)         429 + retry-after (secondary)

    Test helpers: assign(number, *logins), comment(number, login, body, created=None)
    -> comment dict, close(number, state_reason="completed", by=None), reopen(number),
    label(number, *names), unlabel(number, *names), add_issue(title, body="",
    labels=(), repo=None, user="someone") -> number, issue(number, repo=None),
    created() (issues made over REST). search_lag: seconds before a new issue is
    found by search (GitHub's search index lags; 0 by default).
    """

    name = "github"

    def __init__(self, port=None, tls=None, repos=("acme/support",), tokens=("gh-token",), login="esc-bot",
                 api_prefix="", html_base="https://github.com", keep_alive=True, require_is_issue=True,
                 search_lag=0.0, rate_limit=5000):
        super().__init__(port, tls, keep_alive)
        self.repos = {r.lower(): {"full_name": r, "id": 1296269 + i} for i, r in enumerate(repos)}
        self.tokens = set(tokens)
        self.login = login
        self.api_prefix = api_prefix.rstrip("/")
        self.html_base = html_base.rstrip("/")
        self.require_is_issue = require_is_issue
        self.search_lag = search_lag
        self.rate_limit = rate_limit
        self.rate_remaining = rate_limit
        self.rate_reset_at = None  # epoch seconds while exhausted
        self.rate_status = 403
        self._rate_window_reset = int(time.time()) + 3600
        self.issues = {}  # (repo_lower, number) -> dict
        self._numbers = collections.Counter()
        self._next_issue_id = 1
        self._next_comment_id = 1000000
        self._label_ids = {}
        self._user_ids = {}

    @property
    def base_url(self):
        return self.root_url + self.api_prefix

    # -- objects ----------------------------------------------------------

    def _user(self, login):
        if login is None:
            return None
        uid = self._user_ids.setdefault(login, 583231 + len(self._user_ids))
        return {"login": login, "id": uid, "node_id": base64.b64encode(f"04:User{uid}".encode()).decode().rstrip("="),
                "avatar_url": f"https://avatars.githubusercontent.com/u/{uid}?v=4", "gravatar_id": "",
                "url": f"{self.base_url}/users/{login}", "html_url": f"{self.html_base}/{login}",
                "type": "Bot" if login.endswith("[bot]") else "User", "site_admin": False}

    def _label(self, repo, name):
        lid = self._label_ids.setdefault(name.lower(), 208045946 + len(self._label_ids))
        return {"id": lid, "node_id": base64.b64encode(f"010:Label{lid}".encode()).decode().rstrip("="),
                "url": f"{self.base_url}/repos/{repo}/labels/{urllib.parse.quote(name)}", "name": name,
                "color": "ededed", "default": False, "description": None}

    @staticmethod
    def _time(dt):
        return dt.strftime("%Y-%m-%dT%H:%M:%SZ") if dt else None

    def _issue_json(self, issue):
        repo = issue["repo"]
        api = f"{self.base_url}/repos/{repo}/issues/{issue['number']}"
        return {
            "url": api, "repository_url": f"{self.base_url}/repos/{repo}",
            "labels_url": api + "/labels{/name}", "comments_url": api + "/comments",
            "events_url": api + "/events", "html_url": f"{self.html_base}/{repo}/issues/{issue['number']}",
            "id": issue["id"], "node_id": base64.b64encode(f"05:Issue{issue['id']}".encode()).decode().rstrip("="),
            "number": issue["number"], "title": issue["title"], "user": self._user(issue["user"]),
            "labels": [self._label(repo, n) for n in issue["labels"]], "state": issue["state"],
            "locked": False, "assignee": self._user(issue["assignees"][0]) if issue["assignees"] else None,
            "assignees": [self._user(a) for a in issue["assignees"]], "milestone": None,
            "comments": len(issue["comments"]), "created_at": self._time(issue["created_at"]),
            "updated_at": self._time(issue["updated_at"]), "closed_at": self._time(issue["closed_at"]),
            "author_association": "MEMBER" if issue["user"] == self.login else "NONE",
            "active_lock_reason": None, "body": issue["body"],
            "closed_by": self._user(issue["closed_by"]) if issue["closed_by"] else None,
            "reactions": {"url": api + "/reactions", "total_count": 0, "+1": 0, "-1": 0, "laugh": 0,
                          "hooray": 0, "confused": 0, "heart": 0, "rocket": 0, "eyes": 0},
            "timeline_url": api + "/timeline", "performed_via_github_app": None,
            "state_reason": issue["state_reason"],
        }

    def _comment_json(self, issue, c):
        repo = issue["repo"]
        return {"url": f"{self.base_url}/repos/{repo}/issues/comments/{c['id']}",
                "html_url": f"{self.html_base}/{repo}/issues/{issue['number']}#issuecomment-{c['id']}",
                "issue_url": f"{self.base_url}/repos/{repo}/issues/{issue['number']}",
                "id": c["id"], "node_id": base64.b64encode(f"012:IssueComment{c['id']}".encode()).decode().rstrip("="),
                "user": self._user(c["user"]), "created_at": self._time(c["created_at"]),
                "updated_at": self._time(c["updated_at"]), "body": c["body"],
                "author_association": "MEMBER" if c["user"] == self.login else "NONE",
                "reactions": {"url": f"{self.base_url}/repos/{repo}/issues/comments/{c['id']}/reactions",
                              "total_count": 0, "+1": 0, "-1": 0, "laugh": 0, "hooray": 0, "confused": 0,
                              "heart": 0, "rocket": 0, "eyes": 0},
                "performed_via_github_app": None}

    def _repo_name(self, repo=None):
        if repo is None:
            return next(iter(self.repos.values()))["full_name"]
        return self.repos[repo.lower()]["full_name"]

    def _new_issue(self, repo, title, body, labels, assignees, user, via_rest=False):
        with self.lock:
            repo = self._repo_name(repo)
            self._numbers[repo.lower()] += 1
            n = self._numbers[repo.lower()]
            now = self.now()
            issue = {"repo": repo, "number": n, "id": self._next_issue_id, "title": title, "body": body,
                     "labels": [], "assignees": list(assignees), "user": user, "state": "open",
                     "state_reason": None, "created_at": now, "updated_at": now, "closed_at": None,
                     "closed_by": None, "comments": [], "via_rest": via_rest,
                     "indexed_at": time.monotonic() + self.search_lag}
            for lab in labels:
                if lab.lower() not in [x.lower() for x in issue["labels"]]:
                    issue["labels"].append(lab)
            self._next_issue_id += 1
            self.issues[(repo.lower(), n)] = issue
            return issue

    # -- test helpers -------------------------------------------------------

    def issue(self, number, repo=None):
        with self.lock:
            return self.issues[(self._repo_name(repo).lower(), int(number))]

    def created(self):
        with self.lock:
            return [i for i in sorted(self.issues.values(), key=lambda i: i["id"]) if i["via_rest"]]

    def add_issue(self, title, body="", labels=(), repo=None, user="someone", state="open"):
        issue = self._new_issue(repo, title, body, labels, (), user)
        issue["indexed_at"] = 0
        if state == "closed":
            self.close(issue["number"], repo=repo)
        return issue["number"]

    def _touch(self, issue):
        issue["updated_at"] = self.now()

    def assign(self, number, *logins, repo=None):
        with self.lock:
            issue = self.issue(number, repo)
            issue["assignees"] = list(logins)
            self._touch(issue)

    def comment(self, number, login, body, created=None, repo=None):
        with self.lock:
            issue = self.issue(number, repo)
            when = _parse_when(created) or self.now()
            c = {"id": self._next_comment_id, "user": login, "body": body, "created_at": when, "updated_at": when}
            self._next_comment_id += 1
            issue["comments"].append(c)
            self._touch(issue)
            return self._comment_json(issue, c)

    def close(self, number, state_reason="completed", by=None, repo=None):
        with self.lock:
            issue = self.issue(number, repo)
            issue["state"] = "closed"
            issue["state_reason"] = state_reason
            issue["closed_at"] = self.now()
            issue["closed_by"] = by or "a-maintainer"
            self._touch(issue)

    def reopen(self, number, repo=None):
        with self.lock:
            issue = self.issue(number, repo)
            issue["state"] = "open"
            issue["state_reason"] = "reopened"
            issue["closed_at"] = None
            issue["closed_by"] = None
            self._touch(issue)

    def label(self, number, *names, repo=None):
        with self.lock:
            issue = self.issue(number, repo)
            for n in names:
                if n.lower() not in [x.lower() for x in issue["labels"]]:
                    issue["labels"].append(n)
            self._touch(issue)

    def unlabel(self, number, *names, repo=None):
        with self.lock:
            issue = self.issue(number, repo)
            lower = {n.lower() for n in names}
            issue["labels"] = [x for x in issue["labels"] if x.lower() not in lower]
            self._touch(issue)

    # -- rate limits ----------------------------------------------------------

    def exhaust_rate_limit(self, reset_in=60, status=403):
        """Primary limit used up: every request answers `status` with
        x-ratelimit-remaining: 0 until `reset_in` seconds have passed."""
        with self.lock:
            self.rate_remaining = 0
            self.rate_reset_at = int(time.time()) + reset_in
            self.rate_status = status

    def secondary_rate_limit_next(self, n=1, retry_after=60, status=403, method=None, path=None):
        """The next `n` matching requests answer `status` (403 or 429) with
        GitHub's secondary-rate-limit message and retry-after (None: no
        retry-after header, as GitHub sometimes does)."""
        return self.fail_next(n, status, {"retry-after": str(retry_after)} if retry_after is not None else None,
                              method=method, path=path,
                              body={"message": "You have exceeded a secondary rate limit. Please wait a few "
                                               "minutes before you try again. If you reach out to GitHub Support "
                                               "for help, please include the request ID.",
                                    "documentation_url": "https://docs.github.com/free-pro-team@latest/rest/"
                                                         "overview/rate-limits-for-the-rest-api#about-secondary-rate-limits",
                                    "status": str(status)})

    def rate_limit_next(self, n=1, retry_after=120, method=None, path=None):
        return self.secondary_rate_limit_next(n, retry_after, 429, method=method, path=path)

    def _rate_headers(self, rec):
        resource = "search" if rec.route.startswith(self.api_prefix + "/search") else "core"
        limit = 30 if resource == "search" else self.rate_limit
        with self.lock:
            if self.rate_reset_at is not None and time.time() >= self.rate_reset_at:
                self.rate_reset_at = None
                self.rate_remaining = self.rate_limit
            if self.rate_reset_at is None and self.rate_remaining > 0:
                self.rate_remaining -= 1
            reset = self.rate_reset_at or self._rate_window_reset
            remaining = self.rate_remaining if resource == "core" else max(0, min(29, self.rate_remaining))
        return {"x-ratelimit-limit": str(limit), "x-ratelimit-remaining": str(remaining),
                "x-ratelimit-used": str(limit - remaining), "x-ratelimit-reset": str(reset),
                "x-ratelimit-resource": resource, "x-github-api-version-selected": "2022-11-28",
                "x-github-request-id": hashlib.md5(f"{rec.at}{rec.path}".encode()).hexdigest()[:20].upper()}

    # -- HTTP -----------------------------------------------------------------

    _DOCS = "https://docs.github.com/rest"

    def _error_body(self, rec, status):
        if status == 401:
            return {"message": "Bad credentials", "documentation_url": self._DOCS, "status": "401"}
        if status == 404:
            return {"message": "Not Found", "documentation_url": self._DOCS, "status": "404"}
        if status in (403, 429):
            return {"message": "API rate limit exceeded for user ID 583231. If you reach out to GitHub Support "
                               "for help, please include the request ID.",
                    "documentation_url": "https://docs.github.com/rest/overview/rate-limits-for-the-rest-api",
                    "status": str(status)}
        if status >= 500:
            return {"message": "Server Error", "status": str(status)}
        try:
            phrase = http.HTTPStatus(status).phrase
        except ValueError:
            phrase = str(status)
        return {"message": phrase, "documentation_url": self._DOCS, "status": str(status)}

    def _fault_headers(self, rec, status):
        return self._rate_headers(rec)

    def _precheck(self, rec):
        if not (rec.headers.get("User-Agent") or "").strip():
            reply = Reply(403, "Request forbidden by administrative rules. Please make sure your request has a "
                              "User-Agent header (https://docs.github.com/en/rest/overview/resources-in-the-rest-api"
                              "#user-agent-required). Check https://developer.github.com for other possible causes.\n",
                          content_type="text/plain; charset=utf-8")
            reply.edge = True  # answered by GitHub's edge: no rate-limit headers
            return reply
        return None

    def _is_create(self, rec):
        return rec.method == "POST" and re.fullmatch(re.escape(self.api_prefix) + r"/repos/[^/]+/[^/]+/issues(/\d+/comments)?/?",
                                                     rec.route) is not None

    def _err(self, rec, status, message, extra=None, doc=None):
        body = {"message": message, "documentation_url": doc or self._DOCS, "status": str(status)}
        body.update(extra or {})
        return _Error(status, body, self._rate_headers(rec))

    def _serve(self, rec):
        reply = super()._serve(rec)
        if isinstance(reply, Reply) and not getattr(reply, "edge", False) and not any(k.lower() == "x-ratelimit-limit" for k, _ in reply.headers):
            reply.headers.extend(self._rate_headers(rec).items())
        return reply

    def _route(self, rec):
        route = rec.route
        if self.api_prefix:
            if not route.startswith(self.api_prefix + "/"):
                raise self._err(rec, 404, "Not Found")
            route = route[len(self.api_prefix):]
        header = (rec.headers.get("Authorization") or "").strip()
        token = None
        if header[:7].lower() == "bearer ":
            token = header[7:].strip()
        elif header[:6].lower() == "token ":
            token = header[6:].strip()
        if not header:
            raise self._err(rec, 401, "Requires authentication")
        if token not in self.tokens:
            raise self._err(rec, 401, "Bad credentials")
        rec.auth = self.login
        with self.lock:
            if self.rate_reset_at is not None and time.time() < self.rate_reset_at:
                headers = self._rate_headers(rec)
                raise _Error(self.rate_status, self._error_body(rec, 403 if self.rate_status == 403 else 429), headers)
        routes = [
            (r"/repos/([^/]+/[^/]+)/issues", {"POST": self._create, "GET": self._list_issues}),
            (r"/repos/([^/]+/[^/]+)/issues/(\d+)", {"GET": self._get_issue, "PATCH": self._edit_issue}),
            (r"/repos/([^/]+/[^/]+)/issues/(\d+)/comments", {"GET": self._list_comments,
                                                              "POST": self._add_comment}),
            (r"/repos/([^/]+/[^/]+)", {"GET": self._get_repo}),
            (r"/search/issues", {"GET": self._search}),
            (r"/user", {"GET": lambda r: Reply(200, self._user(self.login))}),
            (r"/rate_limit", {"GET": self._get_rate_limit}),
        ]
        for pattern, methods in routes:
            m = re.fullmatch(pattern, route)
            if m:
                fn = methods.get(rec.method)
                if fn is None:
                    raise self._err(rec, 404, "Not Found")
                return fn(rec, *m.groups())
        raise self._err(rec, 404, "Not Found")

    def _repo(self, rec, name):
        r = self.repos.get(name.lower())
        if r is None:
            raise self._err(rec, 404, "Not Found")
        return r["full_name"]

    def _bad_json(self, rec):
        return lambda: self._err(rec, 400, "Problems parsing JSON")

    def _body(self, rec):
        data = _json_body(rec, self._bad_json(rec))
        if not isinstance(data, dict):
            raise self._err(rec, 400, "Body should be a JSON object")
        return data

    def _create(self, rec, repo):
        repo = self._repo(rec, repo)
        data = self._body(rec)
        title = data.get("title")
        if title is None or (isinstance(title, str) and not title.strip()):
            raise self._err(rec, 422, "Invalid request.\n\n\"title\" wasn't supplied.",
                            doc="https://docs.github.com/rest/issues/issues#create-an-issue")
        if not isinstance(title, (str, int)):
            raise self._err(rec, 422, "Invalid request.\n\nFor 'properties/title', "
                                      f"{json.dumps(title)} is not a string or integer.",
                            doc="https://docs.github.com/rest/issues/issues#create-an-issue")
        if len(str(title)) > 256:
            raise self._err(rec, 422, "Validation Failed",
                            {"errors": [{"resource": "Issue", "code": "custom", "field": "title",
                                         "message": "title is too long (maximum is 256 characters)"}]},
                            doc="https://docs.github.com/rest/issues/issues#create-an-issue")
        body = data.get("body")
        if body is not None and not isinstance(body, str):
            raise self._err(rec, 422, "Invalid request.\n\nFor 'properties/body', "
                                      f"{json.dumps(body)} is not a string or null.")
        if body is not None and len(body) > 65536:
            raise self._err(rec, 422, "Validation Failed",
                            {"errors": [{"resource": "Issue", "code": "custom", "field": "body",
                                         "message": "body is too long (maximum is 65536 characters)"}]})
        labels = []
        for lab in data.get("labels") or []:
            name = lab.get("name") if isinstance(lab, dict) else lab
            if not isinstance(name, str):
                raise self._err(rec, 422, "Invalid request.\n\nFor 'items', "
                                          f"{json.dumps(lab)} is not a string or object.")
            labels.append(name)
        assignees = list(data.get("assignees") or [])
        if data.get("assignee"):
            assignees.insert(0, data["assignee"])
        issue = self._new_issue(repo, str(title), body, labels, assignees, self.login, via_rest=True)
        with self.lock:
            out = self._issue_json(issue)
        return Reply(201, out, {"Location": out["url"]})

    def _find(self, rec, repo, number):
        repo = self._repo(rec, repo)
        with self.lock:
            issue = self.issues.get((repo.lower(), int(number)))
        if issue is None:
            raise self._err(rec, 404, "Not Found", doc="https://docs.github.com/rest/issues/issues#get-an-issue")
        return issue

    def _get_issue(self, rec, repo, number):
        issue = self._find(rec, repo, number)
        with self.lock:
            return Reply(200, self._issue_json(issue))

    def _edit_issue(self, rec, repo, number):
        issue = self._find(rec, repo, number)
        data = self._body(rec)
        with self.lock:
            if "title" in data:
                issue["title"] = str(data["title"])
            if "body" in data:
                issue["body"] = data["body"]
            if "labels" in data:
                issue["labels"] = [x.get("name") if isinstance(x, dict) else x for x in data["labels"] or []]
            if "assignees" in data:
                issue["assignees"] = list(data["assignees"] or [])
            if data.get("state") == "closed" and issue["state"] != "closed":
                issue["state"] = "closed"
                issue["state_reason"] = data.get("state_reason") or "completed"
                issue["closed_at"] = self.now()
                issue["closed_by"] = self.login
            elif data.get("state") == "open" and issue["state"] != "open":
                issue["state"] = "open"
                issue["state_reason"] = "reopened"
                issue["closed_at"] = None
                issue["closed_by"] = None
            self._touch(issue)
            return Reply(200, self._issue_json(issue))

    def _page_args(self, rec, default=30):
        per_page = _int_arg(rec, "per_page", default, lo=1, hi=100)
        page = _int_arg(rec, "page", 1, lo=1)
        if per_page is None or page is None:
            raise self._err(rec, 422, "Validation Failed")
        return per_page, page

    def _link(self, rec, page, per_page, total):
        last = max(1, -(-total // per_page))
        links = []
        query = {k: v for k, v in rec.query.items() if k != "page"}

        def url(p):
            q = dict(query)
            q["page"] = [str(p)]
            return f"{self.root_url}{rec.route}?{urllib.parse.urlencode(q, doseq=True)}"
        if page > 1:
            links.append(f'<{url(page - 1)}>; rel="prev"')
        if page < last:
            links.append(f'<{url(page + 1)}>; rel="next"')
            links.append(f'<{url(last)}>; rel="last"')
        if page > 1:
            links.append(f'<{url(1)}>; rel="first"')
        return {"Link": ", ".join(links)} if links else {}

    def _list_issues(self, rec, repo):
        full = self._repo(rec, repo)
        per_page, page = self._page_args(rec)
        state = rec.arg("state", "open")
        sort = rec.arg("sort", "created")
        direction = rec.arg("direction", "desc")
        if state not in ("open", "closed", "all") or sort not in ("created", "updated", "comments") \
                or direction not in ("asc", "desc"):
            raise self._err(rec, 422, "Validation Failed",
                            {"errors": [{"resource": "Issue", "field": "state/sort/direction", "code": "invalid"}]})
        wanted = [x.strip().lower() for x in (rec.arg("labels") or "").split(",") if x.strip()]
        since = rec.arg("since")
        try:
            since_dt = _parse_when(since) if since else None
        except ValueError:
            raise self._err(rec, 422, "Validation Failed") from None
        with self.lock:
            found = [i for (r, _), i in self.issues.items() if r == full.lower()
                     and (state == "all" or i["state"] == state)
                     and all(w in [x.lower() for x in i["labels"]] for w in wanted)
                     and (since_dt is None or i["updated_at"] >= since_dt)]
            key = {"created": lambda i: (i["created_at"], i["number"]), "updated": lambda i: (i["updated_at"], i["number"]),
                   "comments": lambda i: (len(i["comments"]), i["number"])}[sort]
            found.sort(key=key, reverse=direction == "desc")
            out = [self._issue_json(i) for i in found[(page - 1) * per_page: page * per_page]]
        return Reply(200, out, self._link(rec, page, per_page, len(found)))

    def _list_comments(self, rec, repo, number):
        issue = self._find(rec, repo, number)
        per_page, page = self._page_args(rec)
        since = rec.arg("since")
        try:
            since_dt = _parse_when(since) if since else None
        except ValueError:
            raise self._err(rec, 422, "Validation Failed",
                            {"errors": [{"resource": "IssueComment", "field": "since", "code": "invalid"}]}) from None
        with self.lock:
            comments = [c for c in issue["comments"] if since_dt is None or c["updated_at"] >= since_dt]
            comments.sort(key=lambda c: (c["created_at"], c["id"]))
            chunk = comments[(page - 1) * per_page: page * per_page]
            out = [self._comment_json(issue, c) for c in chunk]
        return Reply(200, out, self._link(rec, page, per_page, len(comments)))

    def _add_comment(self, rec, repo, number):
        issue = self._find(rec, repo, number)
        data = self._body(rec)
        body = data.get("body")
        if not isinstance(body, str) or not body:
            raise self._err(rec, 422, "Invalid request.\n\n\"body\" wasn't supplied.")
        c = self.comment(issue["number"], self.login, body, repo=issue["repo"])
        return Reply(201, c, {"Location": c["url"]})

    def _get_repo(self, rec, repo):
        full = self._repo(rec, repo)
        r = self.repos[full.lower()]
        owner = full.split("/")[0]
        return Reply(200, {"id": r["id"], "name": full.split("/")[1], "full_name": full, "private": True,
                           "owner": self._user(owner), "html_url": f"{self.html_base}/{full}",
                           "url": f"{self.base_url}/repos/{full}", "has_issues": True,
                           "permissions": {"admin": False, "maintain": False, "push": True, "triage": True,
                                           "pull": True}})

    def _get_rate_limit(self, rec):
        with self.lock:
            reset = self.rate_reset_at or self._rate_window_reset
            core = {"limit": self.rate_limit, "remaining": self.rate_remaining,
                    "used": self.rate_limit - self.rate_remaining, "reset": reset, "resource": "core"}
        return Reply(200, {"resources": {"core": core, "search": dict(core, limit=30, resource="search")},
                           "rate": core})

    # -- search ---------------------------------------------------------------

    _Q_TOKEN = re.compile(r'\s*(-?)(?:([A-Za-z_]+):("(?:[^"\\]|\\.)*"|\S+)|("(?:[^"\\]|\\.)*")|(\S+))')

    @staticmethod
    def _words(text):
        return re.findall(r"[a-z0-9]+", (text or "").lower())

    def _search(self, rec):
        q = rec.arg("q")
        doc = "https://docs.github.com/rest/search/search#search-issues-and-pull-requests"
        if not q or not q.strip():
            raise self._err(rec, 422, "Validation Failed",
                            {"errors": [{"resource": "Search", "field": "q", "code": "missing"}]}, doc=doc)
        per_page, page = self._page_args(rec)
        quals, terms = [], []
        pos = 0
        while pos < len(q):
            m = self._Q_TOKEN.match(q, pos)
            if not m or m.end() == pos:
                break
            pos = m.end()
            neg, key, value, phrase, word = m.groups()
            if key is not None:
                value = value[1:-1] if value.startswith('"') and value.endswith('"') and len(value) >= 2 else value
                quals.append((neg == "-", key.lower(), value))
            elif phrase is not None:
                terms.append((neg == "-", phrase[1:-1]))
            elif word is not None and word.upper() not in ("AND",):
                terms.append((neg == "-", word))
        known = {"repo", "org", "user", "label", "is", "type", "state", "in", "author", "assignee", "no",
                 "reason", "involves", "mentions", "commenter"}
        for neg, key, value in list(quals):
            if key not in known:  # GitHub searches unknown qualifiers as text
                quals.remove((neg, key, value))
                terms.append((neg, f"{key}:{value}"))
        if self.require_is_issue and not any(
                not neg and ((key == "is" and value.lower() in ("issue", "pr", "pull-request"))
                             or (key == "type" and value.lower() in ("issue", "pr")))
                for neg, key, value in quals):
            raise self._err(rec, 422, "Query must include 'is:issue' or 'is:pull-request'", doc=doc)
        for neg, key, value in quals:
            if key == "repo" and value.lower() not in self.repos:
                raise self._err(rec, 422, "Validation Failed",
                                {"errors": [{"message": "The listed users and repositories cannot be searched "
                                                        "either because the resources do not exist or you do not "
                                                        "have permission to view them.",
                                             "resource": "Search", "field": "q", "code": "invalid"}]}, doc=doc)
        scopes = set()
        for neg, key, value in quals:
            if key == "in":
                scopes.update(s.strip().lower().rstrip("s") if s.strip().lower() == "comments" else s.strip().lower()
                              for s in value.split(","))
        scopes = {"comment" if s in ("comment", "comments") else s for s in scopes} or {"title", "body", "comment"}

        def matches(issue):
            if issue["indexed_at"] > time.monotonic():
                return False
            for neg, key, value in quals:
                v = value.lower()
                if key == "repo":
                    ok = issue["repo"].lower() == v
                elif key in ("org", "user"):
                    ok = issue["repo"].lower().split("/")[0] == v
                elif key == "label":
                    wanted = [x.strip() for x in v.split(",")]
                    ok = any(w in [x.lower() for x in issue["labels"]] for w in wanted)
                elif key in ("is", "type", "state"):
                    if v in ("issue",):
                        ok = True
                    elif v in ("pr", "pull-request"):
                        ok = False
                    elif v in ("open", "closed"):
                        ok = issue["state"] == v
                    else:
                        ok = True
                elif key == "in":
                    continue
                elif key == "author":
                    ok = (issue["user"] or "").lower() == v
                elif key == "assignee":
                    ok = v == "*" and bool(issue["assignees"]) or v in [a.lower() for a in issue["assignees"]]
                elif key == "no":
                    ok = not issue["assignees"] if v == "assignee" else (not issue["labels"] if v == "label" else True)
                elif key == "reason":
                    ok = (issue["state_reason"] or "").replace("_", " ") == v.replace("_", " ")
                else:
                    ok = True
                if ok == neg:
                    return False
            texts = []
            if "title" in scopes:
                texts.append(issue["title"])
            if "body" in scopes:
                texts.append(issue["body"] or "")
            if "comment" in scopes:
                texts.extend(c["body"] for c in issue["comments"])
            hay = [self._words(t) for t in texts]
            for neg, term in terms:
                words = self._words(term)
                if not words:
                    continue
                hit = any(h[i:i + len(words)] == words for h in hay for i in range(len(h) - len(words) + 1))
                if hit == neg:
                    return False
            return True

        with self.lock:
            found = [i for i in self.issues.values() if matches(i)]
            sort = rec.arg("sort")
            reverse = rec.arg("order", "desc") != "asc"
            if sort in ("created", "updated"):
                found.sort(key=lambda i: (i[f"{sort}_at"], i["id"]), reverse=reverse)
            elif sort == "comments":
                found.sort(key=lambda i: (len(i["comments"]), i["id"]), reverse=reverse)
            else:
                found.sort(key=lambda i: i["id"], reverse=True)  # "best match": newest first here
            total = len(found)
            chunk = found[(page - 1) * per_page: page * per_page]
            items = [dict(self._issue_json(i), score=1.0) for i in chunk]
        return Reply(200, {"total_count": total, "incomplete_results": False, "items": items},
                     self._link(rec, page, per_page, min(total, 1000)))


# ---------------------------------------------------------------------------
# PagerDuty


_PD_ALNUM = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"


def _pd_id(seed):
    h = int(hashlib.sha1(seed.encode()).hexdigest(), 16)
    out = "P"
    for _ in range(6):
        h, r = divmod(h, len(_PD_ALNUM))
        out += _PD_ALNUM[r]
    return out


class PagerDutyServer(_VendorServer):
    """PagerDuty Events API v2 and the REST API's incidents, in memory (one
    server answers both: point the events URL and the REST URL at base_url).

    Follows:
      https://developer.pagerduty.com/docs/events-api-v2/trigger-events/
      https://developer.pagerduty.com/docs/events-api-v2/overview/  (202/400/429/5xx)
      https://developer.pagerduty.com/api-reference/368ae3d938c9e-send-an-event-to-pager-duty
         (github.com/PagerDuty/api-schema reference/events-v2/openapiv3.json: 202
          {status, message, dedup_key}; errors {status, message, errors[]})
      https://developer.pagerduty.com/api-reference/9d0b4b12e36f9-list-incidents
      https://developer.pagerduty.com/api-reference/005299ba5bf15-get-an-incident
      https://developer.pagerduty.com/api-reference/367a3b0ef7d64-list-log-entries-for-an-incident
      https://developer.pagerduty.com/docs/rest-api-v2/authentication/  (Authorization: Token token=KEY)
      https://developer.pagerduty.com/docs/rest-api-v2/versioning/  (Accept: application/vnd.pagerduty+json;version=2)
      https://developer.pagerduty.com/docs/rest-api-v2/pagination/  (limit/offset/more/total)
      https://developer.pagerduty.com/docs/rest-api-v2/errors/  ({"error":{message,code,errors}})
      https://developer.pagerduty.com/docs/rest-api-v2/rate-limiting/  (429 + ratelimit-* headers)
      (field names of incidents and log entries as in github.com/PagerDuty/go-pagerduty)

    Events API v2 — POST /v2/enqueue (no auth header; the routing_key is the
    credential):
      202 {"status":"success","message":"Event processed","dedup_key":K}
      400 {"status":"invalid event","message":"Event object is invalid","errors":[...]}
          (bad JSON, routing_key not 32 characters or not one of `routing_keys`,
          event_action not trigger/acknowledge/resolve, trigger without
          payload.summary/source/severity, severity not critical/error/warning/info,
          dedup_key over 255 characters, acknowledge/resolve without dedup_key)
      A trigger whose dedup_key has an open (triggered/acknowledged) incident
      adds to it (no second incident); after a resolve a trigger opens a new
      one. acknowledge/resolve for no open incident: 202, dropped.
    REST API (Authorization: Token token=KEY for KEY in `api_tokens`; else 401
      {"error":{"message":"Authentication failed","code":2006}}; the Accept
      header is recorded, and required only with require_accept=True):
      GET /incidents?incident_key=K&statuses[]=triggered&limit=25&offset=0&total=true
          {"incidents":[...],"limit","offset","more","total"} (total null unless total=true)
      GET /incidents/{id}               {"incident":{...}}; 404 {"error":{"message":"Not Found","code":2100}}
      GET /incidents/{id}/log_entries   {"log_entries":[...], limit, offset, more, total}, newest first
      GET /incidents/{id}/notes         {"notes":[...]}
    Incident fields: id, type, summary ("[#N] title"), self, html_url,
      incident_number, title, description, created_at, updated_at, status,
      incident_key, service, assignments[{at, assignee}], acknowledgements[{at,
      acknowledger{id,type,summary,self,html_url}}], last_status_change_at,
      last_status_change_by{...summary}, first_trigger_log_entry, urgency,
      priority, resolve_reason, alert_counts{all,triggered,resolved},
      escalation_policy, teams, pending_actions, is_mergeable, resolved_at.

    Test helpers: acknowledge(dedup_key, by="Dana Scully") and
      resolve(dedup_key, by="Dana Scully") act as a responder in the web UI;
      note(dedup_key, by, content); incident(dedup_key) -> internal dict of the
      newest incident with that key; incidents (list); events (every accepted
      event body, in order).
    Fault defaults: 429 on /v2/enqueue {"status":"throttle event","message":
      "Requests for this service are arriving too quickly. Please retry later."};
      429 on the REST API {"error":{"message":"Rate Limit Exceeded","code":2020}}
      with ratelimit-limit/-remaining/-reset; 401, 5xx in the REST error shape.
    """

    name = "pagerduty"

    def __init__(self, port=None, tls=None, routing_keys=None, api_tokens=("pd-api-token",),
                 service_name="Checkout API", keep_alive=True, require_accept=False,
                 html_base="https://acme.pagerduty.com"):
        super().__init__(port, tls, keep_alive)
        # None: any 32-character routing key is accepted
        self.routing_keys = set(routing_keys) if routing_keys else None
        self.api_tokens = set(api_tokens)
        self.require_accept = require_accept
        self.html_base = html_base.rstrip("/")
        self.service = {"id": _pd_id("service"), "name": service_name}
        self.incidents = []
        self.events = []
        self._number = 1233

    # -- objects ------------------------------------------------------------

    @staticmethod
    def _time(dt):
        return dt.strftime("%Y-%m-%dT%H:%M:%SZ") if dt else None

    def _ref(self, kind, pid, summary):
        plural = {"service": "services", "user": "users", "escalation_policy": "escalation_policies",
                  "incident": "incidents", "trigger_log_entry": "log_entries",
                  "acknowledge_log_entry": "log_entries", "resolve_log_entry": "log_entries"}.get(kind, kind + "s")
        return {"id": pid, "type": f"{kind}_reference", "summary": summary,
                "self": f"{self.base_url}/{plural}/{pid}", "html_url": f"{self.html_base}/{plural}/{pid}"}

    def _service_ref(self):
        return self._ref("service", self.service["id"], self.service["name"])

    def _user_ref(self, name):
        return self._ref("user", _pd_id("user:" + name), name)

    def _agent(self, who):
        return self._service_ref() if who is None else self._user_ref(who)

    def _log(self, inc, kind, who, channel, summary, when=None):
        when = when or self.now()
        entry = {"id": _pd_id(f"log:{inc['id']}:{len(inc['log'])}:{kind}"), "kind": kind, "who": who,
                 "channel": channel, "summary": summary, "at": when}
        inc["log"].append(entry)
        return entry

    def _log_json(self, inc, e):
        out = {"id": e["id"], "type": f"{e['kind']}_log_entry", "summary": e["summary"],
               "self": f"{self.base_url}/log_entries/{e['id']}",
               "html_url": f"{self.html_base}/incidents/{inc['id']}/log_entries/{e['id']}",
               "created_at": self._time(e["at"]), "agent": self._agent(e["who"]),
               "channel": {"type": e["channel"]}, "service": self._service_ref(),
               "incident": self._ref("incident", inc["id"], self._summary(inc)), "teams": [],
               "contexts": [], "event_details": {}}
        if e["kind"] == "trigger":
            out["event_details"] = {"description": inc["title"]}
        return out

    def _summary(self, inc):
        return f"[#{inc['number']}] {inc['title']}"

    def _incident_json(self, inc):
        first = inc["log"][0]
        acks = [{"at": self._time(a["at"]), "acknowledger": self._agent(a["who"])} for a in inc["acks"]]
        status_log = [e for e in inc["log"] if e["kind"] in ("trigger", "acknowledge", "resolve")]
        last = status_log[-1]
        return {
            "id": inc["id"], "type": "incident", "summary": self._summary(inc),
            "self": f"{self.base_url}/incidents/{inc['id']}", "html_url": f"{self.html_base}/incidents/{inc['id']}",
            "incident_number": inc["number"], "title": inc["title"], "description": inc["title"],
            "created_at": self._time(inc["created_at"]), "updated_at": self._time(inc["updated_at"]),
            "status": inc["status"], "incident_key": inc["dedup_key"], "service": self._service_ref(),
            "assignments": ([] if inc["status"] == "resolved" else
                            [{"at": self._time(inc["created_at"]), "assignee": self._user_ref("On-call Engineer")}]),
            "assigned_via": "escalation_policy",
            "last_status_change_at": self._time(last["at"]), "last_status_change_by": self._agent(last["who"]),
            "acknowledgements": acks if inc["status"] == "acknowledged" else [],
            "first_trigger_log_entry": self._ref("trigger_log_entry", first["id"], first["summary"]),
            "alert_counts": {"all": inc["alerts"], "triggered": 0 if inc["status"] == "resolved" else inc["alerts"],
                             "resolved": inc["alerts"] if inc["status"] == "resolved" else 0},
            "is_mergeable": True,
            "escalation_policy": self._ref("escalation_policy", _pd_id("ep"), "Default"),
            "teams": [], "pending_actions": [], "urgency": inc["urgency"], "priority": None,
            "resolve_reason": None, "incidents_responders": [], "responder_requests": [],
            "subscriber_requests": [], "conference_bridge": None,
            "resolved_at": self._time(inc["resolved_at"]),
        }

    # -- state ----------------------------------------------------------------

    def _open(self, dedup_key):
        for inc in reversed(self.incidents):
            if inc["dedup_key"] == dedup_key and inc["status"] != "resolved":
                return inc
        return None

    def incident(self, dedup_key):
        """The newest incident with this dedup_key (internal dict), or None."""
        with self.lock:
            for inc in reversed(self.incidents):
                if inc["dedup_key"] == dedup_key:
                    return inc
        return None

    def _set_status(self, inc, status, who, channel):
        now = self.now()
        inc["status"] = status
        inc["updated_at"] = now
        if status == "acknowledged":
            inc["acks"].append({"at": now, "who": who})
            self._log(inc, "acknowledge", who, channel, f"Acknowledged by {who or self.service['name']}.", now)
        elif status == "resolved":
            inc["resolved_at"] = now
            self._log(inc, "resolve", who, channel, f"Resolved by {who or self.service['name']}.", now)

    def acknowledge(self, dedup_key, by="Dana Scully"):
        """A responder acknowledges the open incident (web UI)."""
        with self.lock:
            inc = self._open(dedup_key)
            if inc is None:
                raise KeyError(f"no open incident with dedup_key {dedup_key!r}")
            self._set_status(inc, "acknowledged", by, "web_ui")
            return inc

    def resolve(self, dedup_key, by="Dana Scully"):
        """A responder resolves the open incident (web UI)."""
        with self.lock:
            inc = self._open(dedup_key)
            if inc is None:
                raise KeyError(f"no open incident with dedup_key {dedup_key!r}")
            self._set_status(inc, "resolved", by, "web_ui")
            return inc

    def note(self, dedup_key, by, content):
        with self.lock:
            inc = self.incident(dedup_key)
            if inc is None:
                raise KeyError(dedup_key)
            n = {"id": _pd_id(f"note:{inc['id']}:{len(inc['notes'])}"), "user": self._user_ref(by),
                 "content": content, "created_at": self._time(self.now()),
                 "channel": {"summary": "The PagerDuty website or APIs"}}
            inc["notes"].append(n)
            self._log(inc, "annotate", by, "web_ui", f"Note added by {by}.")
            return n

    # -- HTTP -------------------------------------------------------------------

    def rate_limit_next(self, n=1, retry_after=None, method=None, path=None):
        """The next `n` matching requests answer 429 (the Events API's
        "throttle event" body on /v2/enqueue, the REST API's error 2020 with
        ratelimit-* headers elsewhere). PagerDuty documents no Retry-After;
        give retry_after to add one anyway."""
        return super().rate_limit_next(n, retry_after, method, path)

    def _is_events(self, rec):
        return rec.route.rstrip("/") == "/v2/enqueue"

    def _is_create(self, rec):
        return rec.method == "POST" and self._is_events(rec)

    def _error_body(self, rec, status):
        if self._is_events(rec):
            if status == 429:
                return {"status": "throttle event",
                        "message": "Requests for this service are arriving too quickly. Please retry later."}
            if status == 400:
                return {"status": "invalid event", "message": "Event object is invalid", "errors": []}
            try:
                phrase = http.HTTPStatus(status).phrase
            except ValueError:
                phrase = str(status)
            return {"status": "error", "message": phrase, "errors": []}
        if status == 401:
            return {"error": {"message": "Authentication failed", "code": 2006}}
        if status == 429:
            return {"error": {"message": "Rate Limit Exceeded", "code": 2020}}
        if status == 404:
            return {"error": {"message": "Not Found", "code": 2100}}
        if status >= 500:
            return {"error": {"message": "An internal error has occurred. PagerDuty team has been notified.",
                              "code": 2000}}
        return {"error": {"message": "Invalid Input Provided", "code": 2001, "errors": []}}

    def _fault_headers(self, rec, status):
        if status == 429 and not self._is_events(rec):
            return {"ratelimit-limit": "960", "ratelimit-remaining": "0", "ratelimit-reset": "20"}
        return {}

    def _route(self, rec):
        if self._is_events(rec):
            if rec.method != "POST":
                raise _Error(405, {"status": "error", "message": "Method Not Allowed", "errors": []})
            return self._enqueue(rec)
        header = rec.headers.get("Authorization") or ""
        m = re.fullmatch(r"\s*Token\s+token=(\S+)\s*", header)
        if not m or m.group(1) not in self.api_tokens:
            raise _Error(401, self._error_body(rec, 401))
        rec.auth = m.group(1)
        if self.require_accept and "application/vnd.pagerduty+json;version=2" not in \
                (rec.headers.get("Accept") or "").replace(" ", ""):
            raise _Error(400, {"error": {"message": "Invalid Input Provided", "code": 2001,
                                         "errors": ["Accept header must be application/vnd.pagerduty+json;version=2"]}})
        route = rec.route.rstrip("/")
        if rec.method != "GET":
            raise _Error(404, self._error_body(rec, 404))
        if route == "/incidents":
            return self._list_incidents(rec)
        m = re.fullmatch(r"/incidents/([A-Z0-9]+)(/log_entries|/notes)?", route)
        if m:
            with self.lock:
                inc = next((i for i in self.incidents if i["id"] == m.group(1)), None)
                if inc is None:
                    raise _Error(404, self._error_body(rec, 404))
                if m.group(2) == "/log_entries":
                    entries = [self._log_json(inc, e) for e in reversed(inc["log"])]
                    if rec.arg("is_overview") == "true":
                        entries = [e for e in entries if e["type"] in
                                   ("trigger_log_entry", "acknowledge_log_entry", "resolve_log_entry")]
                    return Reply(200, self._paged(rec, "log_entries", entries))
                if m.group(2) == "/notes":
                    return Reply(200, {"notes": list(inc["notes"])})
                return Reply(200, {"incident": self._incident_json(inc)})
        raise _Error(404, self._error_body(rec, 404))

    def _paged(self, rec, name, items):
        limit = _int_arg(rec, "limit", 25, lo=1, hi=100)
        offset = _int_arg(rec, "offset", 0, lo=0)
        if limit is None or offset is None or limit + offset > 10000:
            raise _Error(400, {"error": {"message": "Invalid Input Provided", "code": 2001,
                                         "errors": ["Offset plus limit must not exceed 10000"]}})
        page = items[offset:offset + limit]
        return {name: page, "limit": limit, "offset": offset, "more": offset + limit < len(items),
                "total": len(items) if rec.arg("total") == "true" else None}

    def _list_incidents(self, rec):
        key = rec.arg("incident_key")
        statuses = rec.query.get("statuses[]", []) + rec.query.get("statuses", [])
        for s in statuses:
            if s not in ("triggered", "acknowledged", "resolved"):
                raise _Error(400, {"error": {"message": "Invalid Input Provided", "code": 2001,
                                             "errors": ["Statuses is invalid."]}})
        with self.lock:
            found = [i for i in self.incidents
                     if (key is None or i["dedup_key"] == key) and (not statuses or i["status"] in statuses)]
            found.sort(key=lambda i: i["created_at"])
            items = [self._incident_json(i) for i in found]
        return Reply(200, self._paged(rec, "incidents", items))

    def _invalid(self, errors):
        return _Error(400, {"status": "invalid event", "message": "Event object is invalid", "errors": errors})

    def _enqueue(self, rec):
        try:
            ev = json.loads(rec.body.decode("utf-8"))
        except (UnicodeDecodeError, ValueError):
            raise _Error(400, {"status": "invalid event", "message": "Event object is invalid",
                               "errors": ["JSON parse error"]}) from None
        if not isinstance(ev, dict):
            raise _Error(400, {"status": "Unrecognized object", "message": "Event object format is unrecognized",
                               "errors": ["JSON parse error"]})
        errors = []
        key = ev.get("routing_key")
        if not isinstance(key, str) or not key:
            errors.append("'routing_key' is missing or blank")
        elif len(key) != 32:
            errors.append("Length of 'routing_key' is incorrect (should be 32 characters)")
        elif self.routing_keys is not None and key not in self.routing_keys:
            errors.append("Invalid routing key")
        action = ev.get("event_action")
        if action not in ("trigger", "acknowledge", "resolve"):
            errors.append("'event_action' is missing or blank" if not action else
                          "'event_action' is invalid (must be one of: trigger, acknowledge, resolve)")
        dedup = ev.get("dedup_key")
        if dedup is not None and (not isinstance(dedup, str) or len(dedup) > 255):
            errors.append("'dedup_key' is invalid (must be a string of at most 255 characters)")
        if action in ("acknowledge", "resolve") and not dedup:
            errors.append("'dedup_key' is missing or blank")
        payload = ev.get("payload")
        if action == "trigger":
            if not isinstance(payload, dict):
                errors.append("'payload' is missing or blank")
            else:
                for f in ("summary", "source", "severity"):
                    if not isinstance(payload.get(f), str) or not payload.get(f).strip():
                        errors.append(f"'payload.{f}' is missing or blank")
                sev = payload.get("severity")
                if isinstance(sev, str) and sev and sev not in ("critical", "error", "warning", "info"):
                    errors.append("'payload.severity' is invalid (must be one of: critical, error, warning, info)")
                if isinstance(payload.get("summary"), str) and len(payload["summary"]) > 1024:
                    errors.append("'payload.summary' is too long (must be at most 1024 characters)")
        if errors:
            raise self._invalid(errors)
        with self.lock:
            self.events.append(ev)
            if action == "trigger":
                if not dedup:
                    dedup = hashlib.md5(f"{time.time()}{len(self.events)}".encode()).hexdigest()
                inc = self._open(dedup)
                if inc is None:
                    self._number += 1
                    now = self.now()
                    inc = {"id": _pd_id(f"incident:{self._number}:{dedup}"), "number": self._number,
                           "dedup_key": dedup, "title": payload["summary"], "status": "triggered",
                           "created_at": now, "updated_at": now, "resolved_at": None,
                           "urgency": "high" if payload["severity"] in ("critical", "error") else "low",
                           "acks": [], "log": [], "notes": [], "alerts": 1, "payload": payload}
                    self._log(inc, "trigger", None, "api", "Triggered through the API.", now)
                    self.incidents.append(inc)
                else:
                    self._log(inc, "trigger", None, "api", "Triggered through the API.")
                    inc["updated_at"] = self.now()
            else:
                inc = self._open(dedup)
                if inc is not None:
                    target = "acknowledged" if action == "acknowledge" else "resolved"
                    if not (target == "acknowledged" and inc["status"] == "acknowledged"):
                        self._set_status(inc, target, None, "api")
        return Reply(202, {"status": "success", "message": "Event processed", "dedup_key": dedup})
