"""A throw-away PostgreSQL cluster for the tests (Debian's
/usr/lib/postgresql/<version>/bin, the newest installed).

    with PgCluster() as pg:                       # initdb + start, stopped on exit
        pg.uri()                                  # postgresql://esc@/esc?host=DIR&port=P
        pg.psql("SELECT 1")                       # -> "1" (psql -At output, stripped)
        pg.psql("CREATE TABLE t()", user="esc")
        pg.stop_server(); pg.start_server(); pg.restart()

    db = pgcluster.fresh_database(self)           # in a unittest.TestCase: a new
    db.uri()                                      # database on the shared cluster,
    db.psql("SELECT current_user", user="esc")    # dropped at the test's cleanup

Where it lives: a temp folder (mode 0755, owned by the `postgres` user when
we are root, since initdb refuses to run as root and the server is then run
with `runuser -u postgres`; otherwise by the current user) holding data/,
the log (postgres.log) and sock/, the Unix-socket directory. The server
listens on that socket only (listen_addresses = ''), unless tcp=True, when it
also listens on 127.0.0.1:<port> (the same free port number names the
socket, .s.PGSQL.<port>).

Authentication: on the socket everyone is trusted (as on Debian's default
"peer" for local tests, but without OS users); over TCP (tcp=True) passwords
are checked with scram-sha-256, each role's password being PASSWORDS[role].

Roles and least privilege (what an app that runs its own migrations needs,
and no more):
  postgres   the bootstrap superuser (the tests' admin; never give it to esc)
  esc_owner  NOLOGIN; owns the database `esc` (so esc cannot ALTER/DROP the
             database, change its settings or grant on it)
  esc        LOGIN, NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION
             NOBYPASSRLS. CONNECT and TEMPORARY on the database; owns the
             schema `esc`, which is first on its search_path (the default
             "$user", public finds it), so its migrations can CREATE, ALTER
             and DROP its own tables, indexes, sequences, types, functions
             and views there. It has no CREATE on the database (cannot make
             new schemas or install extensions: trusted extensions such as
             pgcrypto would need that, so the owner installs them) and, as
             PostgreSQL 15 already does, no CREATE on schema public. It
             cannot drop or alter tables it does not own (only an owner or a
             superuser can), so another role's tables are safe from it.
  esc2       LOGIN like esc, with its own schema `esc2` and no rights in
             schema esc: a second client/tenant for the tests (e.g. to show
             esc cannot touch its tables, or two instances in one database).
PUBLIC's CONNECT and TEMPORARY on the test databases are revoked, so only the
roles above get in.

Fault tests: stop_server(mode="fast"|"immediate"|"smart"), start_server(),
restart(), terminate_connections(database=None).

A cluster is stopped whatever happens: context manager, atexit, and SIGTERM
(the handler stops every cluster this process started, then hands on to the
previous handler or dies of the signal). shared() is a module-level cluster
started once per process; fresh_database() gives each test its own database
on it (CREATE DATABASE ... TEMPLATE template0, roles granted as above),
dropped afterwards. Nothing is printed unless something fails."""

import atexit
import glob
import itertools
import os
import pwd
import shutil
import signal
import subprocess
import tempfile
import threading
import time
import urllib.parse

from esctest import free_port

PASSWORDS = {"esc": "esc-password", "esc2": "esc2-password", "esc_owner": "esc-owner-password",
             "postgres": "postgres-password"}

_live = set()  # clusters to stop at exit / on SIGTERM
_live_lock = threading.Lock()


def _bindir():
    dirs = sorted(glob.glob("/usr/lib/postgresql/*/bin"),
                  key=lambda d: [int(x) if x.isdigit() else 0 for x in d.split("/")[-2].split(".")])
    for d in reversed(dirs):
        if os.path.exists(os.path.join(d, "initdb")):
            return d
    found = shutil.which("initdb")
    if found:
        return os.path.dirname(found)
    raise RuntimeError("no PostgreSQL server binaries (initdb) found under /usr/lib/postgresql/*/bin")


def _quote_ident(name):
    return '"' + name.replace('"', '""') + '"'


def _quote_literal(text):
    return "'" + text.replace("'", "''") + "'"


class PgError(RuntimeError):
    pass


class PgCluster:
    """One cluster: initdb, configure, start. Attributes: folder, data_dir,
    socket_dir, port, tcp, bindir, log_file, database ("esc")."""

    def __init__(self, tcp=False, port=None, database="esc", extra_conf=None, start=True):
        self.bindir = _bindir()
        self.tcp = tcp
        self.port = port or free_port()
        self.database = database
        self.extra_conf = dict(extra_conf or {})
        self.as_postgres = os.geteuid() == 0
        self.folder = tempfile.mkdtemp(prefix="esc-pg-")
        os.chmod(self.folder, 0o755)
        self.data_dir = os.path.join(self.folder, "data")
        self.socket_dir = os.path.join(self.folder, "sock")
        self.log_file = os.path.join(self.folder, "postgres.log")
        os.mkdir(self.socket_dir)
        os.chmod(self.socket_dir, 0o755)
        if self.as_postgres:
            pw = pwd.getpwnam("postgres")
            for path in (self.folder, self.socket_dir):
                os.chown(path, pw.pw_uid, pw.pw_gid)
        self._running = False
        self._removed = False
        with _live_lock:
            _live.add(self)
        _install_handlers()
        try:
            self._initdb()
            self._setup_needed = True
            if start:
                self.start_server()
        except BaseException:
            self.destroy()
            raise

    # -- running commands -------------------------------------------------

    def _cmd(self, *args):
        prog = os.path.join(self.bindir, args[0])
        argv = [prog, *args[1:]]
        if self.as_postgres:
            argv = ["runuser", "-u", "postgres", "--", *argv]
        return argv

    def _run(self, *args, check=True, timeout=60):
        env = dict(os.environ, LANG="C.UTF-8", LC_ALL="C.UTF-8", TZ="UTC")
        proc = subprocess.run(self._cmd(*args), cwd=self.folder, capture_output=True, env=env, timeout=timeout)
        if check and proc.returncode != 0:
            raise PgError(f"{' '.join(args[:2])} failed ({proc.returncode}):\n"
                          f"{proc.stderr.decode(errors='replace')}{proc.stdout.decode(errors='replace')}"
                          f"{self._log_tail()}")
        return proc

    def _log_tail(self, lines=30):
        try:
            with open(self.log_file, errors="replace") as f:
                tail = f.readlines()[-lines:]
            return "\n--- postgres.log (tail) ---\n" + "".join(tail)
        except OSError:
            return ""

    def _initdb(self):
        self._run("initdb", "-D", self.data_dir, "-U", "postgres", "--auth-local=trust",
                  "--auth-host=scram-sha-256", "--encoding=UTF8", "--locale=C.UTF-8", "--no-sync",
                  timeout=120)
        conf = {
            "listen_addresses": "'127.0.0.1'" if self.tcp else "''",
            "port": str(self.port),
            "unix_socket_directories": _quote_literal(self.socket_dir),
            "unix_socket_permissions": "0777",
            "max_connections": "40",
            "shared_buffers": "16MB",
            "fsync": "off",
            "synchronous_commit": "off",
            "full_page_writes": "off",
            "max_wal_senders": "0",
            "wal_level": "minimal",
            "log_min_messages": "warning",
            "log_line_prefix": "'%m [%p] %u@%d '",
            "password_encryption": "scram-sha-256",
            "timezone": "'UTC'",
        }
        conf.update({k: str(v) for k, v in self.extra_conf.items()})
        with open(os.path.join(self.data_dir, "postgresql.auto.conf"), "a") as f:
            f.write("\n# esc tests\n")
            for k, v in conf.items():
                f.write(f"{k} = {v}\n")
        hba = ("# esc tests: trust on the socket, passwords over TCP\n"
               "local all all trust\n"
               "host all all 127.0.0.1/32 scram-sha-256\n"
               "host all all ::1/128 scram-sha-256\n")
        with open(os.path.join(self.data_dir, "pg_hba.conf"), "w") as f:
            f.write(hba)

    # -- server life --------------------------------------------------------

    def start_server(self, timeout=30):
        if self._running:
            return
        self._run("pg_ctl", "-D", self.data_dir, "-l", self.log_file, "-w", "-t", str(timeout), "-s",
                  "start", timeout=timeout + 10)
        self._running = True
        if self._setup_needed:
            self._setup_needed = False
            self._setup_roles()
            self.create_database(self.database)

    def stop_server(self, mode="fast", timeout=30):
        """Stop the server (mode: smart, fast or immediate). Connections
        break; the socket goes away; start_server() brings it back with the
        same data."""
        if not self._running:
            return
        proc = self._run("pg_ctl", "-D", self.data_dir, "-m", mode, "-w", "-t", str(timeout), "-s", "stop",
                         check=False, timeout=timeout + 10)
        if proc.returncode != 0 and self._postmaster_pid():
            self._kill_postmaster()
        self._running = False

    def restart(self, mode="fast"):
        self.stop_server(mode)
        self.start_server()

    @property
    def running(self):
        return self._running

    def _postmaster_pid(self):
        try:
            with open(os.path.join(self.data_dir, "postmaster.pid")) as f:
                return int(f.readline().strip())
        except (OSError, ValueError):
            return None

    def _kill_postmaster(self):
        pid = self._postmaster_pid()
        if not pid:
            return
        try:
            os.kill(pid, signal.SIGQUIT)  # immediate shutdown of this cluster's postmaster
        except ProcessLookupError:
            return
        for _ in range(100):
            try:
                os.kill(pid, 0)
            except ProcessLookupError:
                return
            time.sleep(0.05)
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass

    def destroy(self):
        """Stop the server and remove the folder."""
        if self._removed:
            return
        try:
            if self._running or self._postmaster_pid():
                self._running = True
                self.stop_server("immediate")
        finally:
            self._removed = True
            shutil.rmtree(self.folder, ignore_errors=True)
            with _live_lock:
                _live.discard(self)

    close = destroy

    def __enter__(self):
        self.start_server()
        return self

    def __exit__(self, *exc):
        self.destroy()
        return False

    # -- SQL ------------------------------------------------------------------

    def psql(self, sql, user="postgres", database=None, check=True, timeout=60, args=()):
        """Run `sql` with psql over the socket as `user` (ON_ERROR_STOP, -At:
        unaligned, tuples only). Returns stdout stripped; raises PgError when
        psql fails unless check=False, then returns (code, stdout, stderr)."""
        argv = [os.path.join(self.bindir, "psql"), "-X", "-q", "-v", "ON_ERROR_STOP=1", "-At",
                "-h", self.socket_dir, "-p", str(self.port), "-U", user, "-d", database or self.database,
                *args, "-f", "-"]
        env = dict(os.environ, PGCONNECT_TIMEOUT="10", LANG="C.UTF-8", PGTZ="UTC")
        env.pop("PGPASSWORD", None)
        proc = subprocess.run(argv, input=sql.encode(), capture_output=True, env=env, timeout=timeout)
        out = proc.stdout.decode(errors="replace").strip()
        err = proc.stderr.decode(errors="replace")
        if not check:
            return proc.returncode, out, err
        if proc.returncode != 0:
            raise PgError(f"psql as {user} failed ({proc.returncode}): {err.strip()}\nSQL: {sql}")
        return out

    def _setup_roles(self):
        stmts = []
        for role, extra in (("esc_owner", "NOLOGIN"), ("esc", "LOGIN"), ("esc2", "LOGIN")):
            stmts.append(f"CREATE ROLE {role} {extra} NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION "
                         f"NOBYPASSRLS NOINHERIT PASSWORD {_quote_literal(PASSWORDS[role])};")
        stmts.append(f"ALTER ROLE postgres PASSWORD {_quote_literal(PASSWORDS['postgres'])};")
        self.psql("\n".join(stmts), database="postgres")

    def create_database(self, name):
        """A database owned by esc_owner, set up for esc and esc2 as described
        in the module docstring."""
        self.psql(f"CREATE DATABASE {_quote_ident(name)} OWNER esc_owner TEMPLATE template0 "
                  f"ENCODING 'UTF8';", database="postgres")
        db = _quote_ident(name)
        self.psql(f"""
REVOKE ALL ON DATABASE {db} FROM PUBLIC;
GRANT CONNECT, TEMPORARY ON DATABASE {db} TO esc, esc2;
REVOKE ALL ON SCHEMA public FROM PUBLIC;
GRANT USAGE ON SCHEMA public TO PUBLIC;
CREATE SCHEMA esc AUTHORIZATION esc;
CREATE SCHEMA esc2 AUTHORIZATION esc2;
""", database=name)
        return name

    def drop_database(self, name):
        self.psql(f"DROP DATABASE IF EXISTS {_quote_ident(name)} WITH (FORCE);", database="postgres")

    def terminate_connections(self, database=None, user=None):
        """pg_terminate_backend() every client connection (of `user`) to
        `database` (default: every database): the server stays up. Returns
        how many were ended."""
        cond = ["pid <> pg_backend_pid()", "backend_type = 'client backend'"]
        if database:
            cond.append(f"datname = {_quote_literal(database)}")
        if user:
            cond.append(f"usename = {_quote_literal(user)}")
        out = self.psql(f"SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE {' AND '.join(cond)};",
                        database="postgres")
        return int(out or 0)

    # -- addresses --------------------------------------------------------------

    def uri(self, user="esc", database=None, password=False, **params):
        """A libpq URI over the Unix socket:
        postgresql://esc@/esc?host=/tmp/esc-pg-.../sock&port=PORT
        (password=True puts the role's password in too; extra keyword
        arguments become query parameters, e.g. connect_timeout=2)."""
        auth = urllib.parse.quote(user, safe="")
        if password:
            auth += ":" + urllib.parse.quote(PASSWORDS.get(user, ""), safe="")
        query = {"host": self.socket_dir, "port": str(self.port)}
        query.update({k: str(v) for k, v in params.items()})
        q = "&".join(f"{k}={urllib.parse.quote(v, safe='/')}" for k, v in query.items())
        return f"postgresql://{auth}@/{urllib.parse.quote(database or self.database, safe='')}?{q}"

    def tcp_uri(self, user="esc", database=None, password=True, **params):
        """postgresql://esc:PASSWORD@127.0.0.1:PORT/esc (needs tcp=True)."""
        if not self.tcp:
            raise ValueError("this cluster does not listen on TCP (PgCluster(tcp=True))")
        auth = urllib.parse.quote(user, safe="")
        if password:
            auth += ":" + urllib.parse.quote(PASSWORDS.get(user, "") if password is True else password, safe="")
        q = "&".join(f"{k}={urllib.parse.quote(str(v), safe='/')}" for k, v in params.items())
        return (f"postgresql://{auth}@127.0.0.1:{self.port}/{urllib.parse.quote(database or self.database, safe='')}"
                + (f"?{q}" if q else ""))

    def dsn(self, user="esc", database=None):
        """A libpq key=value connection string over the socket."""
        return f"host={self.socket_dir} port={self.port} user={user} dbname={database or self.database}"


class Database:
    """A database of its own on a cluster (see fresh_database)."""

    def __init__(self, cluster, name):
        self.cluster = cluster
        self.name = name
        self._dropped = False

    def uri(self, user="esc", **kw):
        return self.cluster.uri(user=user, database=self.name, **kw)

    def tcp_uri(self, user="esc", **kw):
        return self.cluster.tcp_uri(user=user, database=self.name, **kw)

    def dsn(self, user="esc"):
        return self.cluster.dsn(user=user, database=self.name)

    def psql(self, sql, user="postgres", **kw):
        return self.cluster.psql(sql, user=user, database=self.name, **kw)

    def terminate_connections(self, user=None):
        return self.cluster.terminate_connections(self.name, user)

    def drop(self):
        if self._dropped:
            return
        self._dropped = True
        if self.cluster._removed:
            return
        if not self.cluster.running:
            self.cluster.start_server()
        self.cluster.drop_database(self.name)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.drop()
        return False


_shared = None
_shared_lock = threading.Lock()
_counter = itertools.count(1)


def shared(tcp=True):
    """The process-wide cluster, started on first use (with TCP on 127.0.0.1
    as well, so both kinds of test can use it) and stopped at exit. A test
    that stops it should start it again (start_server()) before it ends."""
    global _shared
    with _shared_lock:
        if _shared is None or _shared._removed:
            _shared = PgCluster(tcp=tcp)
        elif not _shared.running:
            _shared.start_server()
        return _shared


def fresh_database(testcase=None, prefix="esc_t"):
    """A new database on the shared cluster (owned by esc_owner, schemas esc
    and esc2 as in the module docstring). With a unittest.TestCase, it is
    dropped at the test's cleanup; else drop it yourself (or use `with`)."""
    cluster = shared()
    name = f"{prefix}_{os.getpid()}_{next(_counter)}"
    cluster.create_database(name)
    db = Database(cluster, name)
    if testcase is not None:
        testcase.addCleanup(db.drop)
    return db


# -- stopping whatever happens ---------------------------------------------------

_handlers_installed = False


def _stop_all():
    with _live_lock:
        clusters = list(_live)
    for c in clusters:
        try:
            c.destroy()
        except Exception:
            pass


def _on_sigterm(signum, frame):
    _stop_all()
    previous = _previous_sigterm
    if callable(previous):
        previous(signum, frame)
        return
    signal.signal(signum, signal.SIG_DFL)
    os.kill(os.getpid(), signum)


_previous_sigterm = None


def _install_handlers():
    global _handlers_installed, _previous_sigterm
    if _handlers_installed:
        return
    _handlers_installed = True
    atexit.register(_stop_all)
    if threading.current_thread() is threading.main_thread():
        try:
            previous = signal.getsignal(signal.SIGTERM)
            if previous in (signal.SIG_DFL, None) or callable(previous):
                _previous_sigterm = previous if callable(previous) else None
                signal.signal(signal.SIGTERM, _on_sigterm)
        except (ValueError, OSError):
            pass
