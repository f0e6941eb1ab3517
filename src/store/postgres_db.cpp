// The PostgreSQL connection, through libpq. Statements are sent with their
// values as text (never spliced into SQL); a statement run more than once
// is prepared on the server; a large result inside a transaction is read
// through a cursor, a batch at a time, so that other statements can run
// while it is open and memory stays small.

#include <libpq-fe.h>

#include <fmt/format.h>

#include <cstdlib>
#include <cstring>
#include <memory>
#include <vector>

#include "db.hpp"
#include "esc/shared_library.hpp"
#include "esc/uri.hpp"

namespace esc::db {

namespace {

// libpq, loaded when esc first opens a PostgreSQL log rather than when it
// starts: linked, it brings TLS, Kerberos and LDAP libraries into every
// command, on an SQLite log too. <libpq-fe.h> is used for its types and
// constants; every call goes through this table.
struct Pq {
  decltype(&PQclear) clear;
  decltype(&PQconnectdbParams) connectdbParams;
  decltype(&PQerrorMessage) errorMessage;
  decltype(&PQexecParams) execParams;
  decltype(&PQexecPrepared) execPrepared;
  decltype(&PQexec) exec;
  decltype(&PQfinish) finish;
  decltype(&PQgetisnull) getisnull;
  decltype(&PQgetlength) getlength;
  decltype(&PQgetvalue) getvalue;
  decltype(&PQntuples) ntuples;
  decltype(&PQprepare) prepare;
  decltype(&PQresultErrorField) resultErrorField;
  decltype(&PQresultErrorMessage) resultErrorMessage;
  decltype(&PQresultStatus) resultStatus;
  decltype(&PQsetNoticeProcessor) setNoticeProcessor;
  decltype(&PQstatus) status;
  decltype(&PQtransactionStatus) transactionStatus;
};

const Pq& pq() {
  // A load that throws leaves the static unset: the next call tries again.
  static const Pq loaded = [] {
    Pq api{};
#ifdef ESC_LINK_PQ
    api = {PQclear,
           PQconnectdbParams,
           PQerrorMessage,
           PQexecParams,
           PQexecPrepared,
           PQexec,
           PQfinish,
           PQgetisnull,
           PQgetlength,
           PQgetvalue,
           PQntuples,
           PQprepare,
           PQresultErrorField,
           PQresultErrorMessage,
           PQresultStatus,
           PQsetNoticeProcessor,
           PQstatus,
           PQtransactionStatus};
#else
    static SharedLibrary lib("libpq.so.5", "libpq");
    lib.bind("PQclear", api.clear);
    lib.bind("PQconnectdbParams", api.connectdbParams);
    lib.bind("PQerrorMessage", api.errorMessage);
    lib.bind("PQexecParams", api.execParams);
    lib.bind("PQexecPrepared", api.execPrepared);
    lib.bind("PQexec", api.exec);
    lib.bind("PQfinish", api.finish);
    lib.bind("PQgetisnull", api.getisnull);
    lib.bind("PQgetlength", api.getlength);
    lib.bind("PQgetvalue", api.getvalue);
    lib.bind("PQntuples", api.ntuples);
    lib.bind("PQprepare", api.prepare);
    lib.bind("PQresultErrorField", api.resultErrorField);
    lib.bind("PQresultErrorMessage", api.resultErrorMessage);
    lib.bind("PQresultStatus", api.resultStatus);
    lib.bind("PQsetNoticeProcessor", api.setNoticeProcessor);
    lib.bind("PQstatus", api.status);
    lib.bind("PQtransactionStatus", api.transactionStatus);
#endif
    return api;
  }();
  return loaded;
}

using Result = std::unique_ptr<PGresult, void (*)(PGresult*)>;

void clear(PGresult* r) { pq().clear(r); }

Result wrap(PGresult* r) { return Result(r, clear); }

// `?` and `?N` placeholders become PostgreSQL's `$N`; text in quotes is
// left alone.
std::string dollar_placeholders(std::string_view sql) {
  std::string out;
  out.reserve(sql.size() + 16);
  int next = 0;
  char quote = 0;
  for (std::size_t i = 0; i < sql.size(); ++i) {
    const char ch = sql[i];
    if (quote) {
      out += ch;
      if (ch == quote) quote = 0;
      continue;
    }
    if (ch == '\'' || ch == '"') {
      quote = ch;
      out += ch;
      continue;
    }
    if (ch != '?') {
      out += ch;
      continue;
    }
    std::size_t j = i + 1;
    while (j < sql.size() && sql[j] >= '0' && sql[j] <= '9') ++j;
    if (j > i + 1) {
      out += '$';
      out.append(sql.substr(i + 1, j - i - 1));
      i = j - 1;
    } else {
      out += fmt::format("${}", ++next);
    }
  }
  return out;
}

Failure failure_of(PGconn* conn, const PGresult* r) {
  const char* state = r ? pq().resultErrorField(r, PG_DIAG_SQLSTATE) : nullptr;
  std::string message = r ? pq().resultErrorMessage(r) : "";
  if (message.empty()) message = pq().errorMessage(conn);
  while (!message.empty() && (message.back() == '\n' || message.back() == ' ')) message.pop_back();
  if (auto nl = message.find('\n'); nl != std::string::npos) message.resize(nl);
  if (message.starts_with("ERROR:  ")) message.erase(0, 8);
  if (pq().status(conn) == CONNECTION_BAD || !state) return Failure(Fault::unreachable, message);
  const std::string s = state;
  if (s == "40001" || s == "40P01") return Failure(Fault::serialization, message);
  if (s.starts_with("23")) {
    const char* name = pq().resultErrorField(r, PG_DIAG_CONSTRAINT_NAME);
    return Failure(Fault::constraint, message, name ? name : "");
  }
  if (s == "53100") return Failure(Fault::full, message);
  if (s == "57014") return Failure(Fault::timeout, message);
  if (s == "55P03") return Failure(Fault::busy, message);
  if (s.starts_with("08") || s == "57P01" || s == "57P02" || s == "57P03") return Failure(Fault::unreachable, message);
  if (s == "42501") return Failure(Fault::denied, message);
  if (message.find("tsquery") != std::string::npos) return Failure(Fault::syntax, message);
  return Failure(Fault::other, message);
}

class PgConnection;

class PgStatement final : public Statement {
 public:
  PgStatement(PgConnection& c, std::string_view sql, bool many_rows);
  ~PgStatement() override;
  void bind(int i, std::int64_t v) override { param(i) = std::to_string(v); }
  void bind(int i, double v) override { param(i) = fmt::format("{:.17g}", v); }
  void bind(int i, std::string_view v) override { param(i) = std::string(v); }
  void bind_null(int i) override { param(i).reset(); }
  bool step() override;
  void reset() override;
  bool is_null(int col) const override { return pq().getisnull(result_.get(), row_, col); }
  std::int64_t integer(int col) const override {
    const char* v = pq().getvalue(result_.get(), row_, col);
    if (v[0] == 't' && v[1] == 0) return 1;  // a boolean, as PostgreSQL writes it
    return std::strtoll(v, nullptr, 10);
  }
  double real(int col) const override { return std::strtod(pq().getvalue(result_.get(), row_, col), nullptr); }
  std::string text(int col) const override {
    return std::string(pq().getvalue(result_.get(), row_, col),
                       static_cast<std::size_t>(pq().getlength(result_.get(), row_, col)));
  }

 private:
  std::optional<std::string>& param(int i) {
    if (static_cast<std::size_t>(i) > params_.size()) params_.resize(static_cast<std::size_t>(i));
    return params_[static_cast<std::size_t>(i - 1)];
  }
  void execute();
  void fetch();

  PgConnection& c_;
  std::string sql_;
  bool many_rows_;
  std::vector<std::optional<std::string>> params_;
  Result result_{nullptr, clear};
  int row_ = -1, rows_ = 0;
  bool started_ = false;
  int runs_ = 0;
  std::string prepared_;  // the server-side name, once run a second time
  std::string cursor_;    // while a cursor is open
  bool cursor_done_ = false;
};

class PgConnection final : public Connection {
 public:
  PgConnection(const std::string& uri, int statement_timeout_ms) : where_(uri_without_password(uri)) {
    // Defaults first: what the URI says wins (libpq reads these in order).
    const char* keys[] = {"connect_timeout", "fallback_application_name", "dbname", nullptr};
    const char* values[] = {"10", "esc", uri.c_str(), nullptr};
    conn_ = pq().connectdbParams(keys, values, 1);
    if (!conn_ || pq().status(conn_) != CONNECTION_OK) {
      // libpq's first line says what happened ("... failed: Connection
      // refused", "... failed: FATAL:  password authentication failed");
      // the lines after it are advice.
      std::string why = conn_ ? pq().errorMessage(conn_) : "out of memory";
      why = why.substr(0, why.find('\n'));
      while (!why.empty() && (why.back() == ' ' || why.back() == '\t')) why.pop_back();
      for (const auto& piece : uri_password_pieces(uri))
        for (auto p = why.find(piece); p != std::string::npos; p = why.find(piece, p + 3))
          why.replace(p, piece.size(), "***");
      if (conn_) pq().finish(conn_);
      conn_ = nullptr;
      // The server answered and said no: neither down nor worth a retry.
      const bool refused = why.find("FATAL:") != std::string::npos;
      throw Failure(refused ? Fault::refused : Fault::unreachable, fmt::format("{}: {}", where_, why));
    }
    if (uri.find("statement_timeout") == std::string::npos)
      exec(fmt::format("SET statement_timeout = {}", statement_timeout_ms));
    // Notices (e.g. "relation already exists, skipping") are not the user's business.
    pq().setNoticeProcessor(
        conn_, [](void*, const char*) {}, nullptr);
  }
  ~PgConnection() override {
    if (conn_) pq().finish(conn_);
  }

  Dialect dialect() const override { return Dialect::postgres; }
  std::unique_ptr<Statement> prepare(std::string_view sql, bool many_rows) override {
    return std::make_unique<PgStatement>(*this, sql, many_rows);
  }
  void exec(std::string_view sql) override {
    Result r = wrap(pq().exec(conn_, std::string(sql).c_str()));
    check(r.get());
  }
  void begin_write(bool) override { exec("BEGIN ISOLATION LEVEL SERIALIZABLE"); }
  void begin_read() override { exec("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY"); }
  void commit() override { exec("COMMIT"); }
  void rollback() noexcept override {
    if (pq().transactionStatus(conn_) != PQTRANS_IDLE && pq().status(conn_) == CONNECTION_OK)
      pq().clear(pq().exec(conn_, "ROLLBACK"));
  }
  bool in_transaction() const override {
    const auto s = pq().transactionStatus(conn_);
    return s == PQTRANS_INTRANS || s == PQTRANS_INERROR;
  }
  std::string clock_sql() const override { return "CAST(floor(extract(epoch FROM clock_timestamp())) AS BIGINT)"; }
  std::string where() const override { return where_; }

  void check(PGresult* r) {
    const auto status = r ? pq().resultStatus(r) : PGRES_FATAL_ERROR;
    if (status == PGRES_COMMAND_OK || status == PGRES_TUPLES_OK) return;
    throw failure_of(conn_, r);
  }
  PGconn* raw() { return conn_; }
  std::string next_name(const char* prefix) { return fmt::format("esc_{}{}", prefix, ++names_); }

 private:
  PGconn* conn_ = nullptr;
  std::string where_;
  int names_ = 0;
};

PgStatement::PgStatement(PgConnection& c, std::string_view sql, bool many_rows)
    : c_(c), sql_(dollar_placeholders(sql)), many_rows_(many_rows) {}

PgStatement::~PgStatement() {
  if (!cursor_.empty() && c_.in_transaction() && pq().transactionStatus(c_.raw()) == PQTRANS_INTRANS)
    pq().clear(pq().exec(c_.raw(), fmt::format("CLOSE {}", cursor_).c_str()));
}

void PgStatement::execute() {
  std::vector<const char*> values;
  for (const auto& p : params_) values.push_back(p ? p->c_str() : nullptr);
  const int n = static_cast<int>(values.size());
  const bool select = sql_.starts_with("SELECT") || sql_.starts_with("WITH");
  if (many_rows_ && select && pq().transactionStatus(c_.raw()) == PQTRANS_INTRANS) {
    cursor_ = c_.next_name("c");
    Result r = wrap(pq().execParams(c_.raw(), fmt::format("DECLARE {} NO SCROLL CURSOR FOR {}", cursor_, sql_).c_str(),
                                    n, nullptr, values.data(), nullptr, nullptr, 0));
    c_.check(r.get());
    cursor_done_ = false;
    fetch();
    return;
  }
  PGresult* r;
  if (++runs_ > 1) {
    if (prepared_.empty()) {
      const std::string name = c_.next_name("s");
      c_.check(wrap(pq().prepare(c_.raw(), name.c_str(), sql_.c_str(), n, nullptr)).get());
      prepared_ = name;
    }
    r = pq().execPrepared(c_.raw(), prepared_.c_str(), n, values.data(), nullptr, nullptr, 0);
  } else {
    r = pq().execParams(c_.raw(), sql_.c_str(), n, nullptr, values.data(), nullptr, nullptr, 0);
  }
  result_ = wrap(r);
  c_.check(result_.get());
  rows_ = pq().ntuples(result_.get());
  row_ = -1;
}

void PgStatement::fetch() {
  result_ = wrap(pq().exec(c_.raw(), fmt::format("FETCH 1000 FROM {}", cursor_).c_str()));
  c_.check(result_.get());
  rows_ = pq().ntuples(result_.get());
  row_ = -1;
  if (rows_ < 1000) cursor_done_ = true;
}

bool PgStatement::step() {
  if (!started_) {
    started_ = true;
    execute();
  }
  if (++row_ < rows_) return true;
  if (!cursor_.empty() && !cursor_done_) {
    fetch();
    return ++row_ < rows_;
  }
  row_ = rows_;
  return false;
}

void PgStatement::reset() {
  if (!cursor_.empty()) {
    if (pq().transactionStatus(c_.raw()) == PQTRANS_INTRANS)
      pq().clear(pq().exec(c_.raw(), fmt::format("CLOSE {}", cursor_).c_str()));
    cursor_.clear();
  }
  result_.reset();
  rows_ = 0;
  row_ = -1;
  started_ = false;
  params_.clear();
}

}  // namespace

std::unique_ptr<Connection> open_postgres(const std::string& uri, int statement_timeout_ms) {
  return std::make_unique<PgConnection>(uri, statement_timeout_ms);
}

}  // namespace esc::db
