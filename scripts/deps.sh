# Sourced by scripts/demo and scripts/test: installs, with apt-get, the
# Debian packages that are missing (asks dpkg first, so a second run is quick).
esc_install_packages() {
  local missing=()
  local pkg
  for pkg in "$@"; do
    dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  echo "Installing: ${missing[*]}" >&2
  local sudo=""
  [ "$(id -u)" -ne 0 ] && sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

# What building esc needs. libcurl4 and libpq5 (libcurl.so.4 and libpq.so.5,
# which the -dev packages also bring) are named on their own: esc loads them
# with dlopen when a network channel delivers or a PostgreSQL log is opened,
# so nothing links them and no tool would find them missing.
ESC_BUILD_PACKAGES=(
  g++ binutils cmake ninja-build pkg-config
  libcli11-dev libsqlitecpp-dev libsqlite3-dev libfmt-dev libtoml11-dev
  libcurl4-openssl-dev libcurl4 nlohmann-json3-dev libhowardhinnant-date-dev
  libpcre2-dev libedit-dev libpq-dev libpq5
)

# What the tests need besides: doctest, Debian's Python with aiosmtpd for
# the SMTP server, real shells for completions, mandoc for the man pages,
# sqlite3 for the benchmark floor, binutils for readelf and nm.
ESC_TEST_PACKAGES=(
  doctest-dev python3 python3-aiosmtpd bash-completion zsh fish mandoc sqlite3 util-linux binutils
  postgresql dovecot-imapd openssl chromium dpkg-dev file man-db
)

# What `scripts/demo --team` needs besides: a PostgreSQL server to run a
# throw-away cluster.
ESC_TEAM_PACKAGES=(postgresql)
