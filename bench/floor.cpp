// The floor a command is measured against: a bare C++ program, built as esc
// is (PIE, full RELRO, shared libsqlite3), that opens the log and runs the
// statements the command needs, printing every row as esc prints its output.
//
//   floor                  start and print a line (the floor of --version)
//   floor DB [SQL ...]     open DB read-write and run each SQL, which may
//                          hold several statements; SELECT 1 when none
#include <sqlite3.h>

#include <cstdio>

int main(int argc, char** argv) {
  if (argc < 2) {
    std::puts("floor");
    return 0;
  }
  sqlite3* db = nullptr;
  if (sqlite3_open_v2(argv[1], &db, SQLITE_OPEN_READWRITE, nullptr) != SQLITE_OK) return 74;
  sqlite3_busy_timeout(db, 10000);
  const char* none[] = {"SELECT 1"};
  const char* const* sql = argc > 2 ? argv + 2 : none;
  const int n = argc > 2 ? argc - 2 : 1;
  for (int i = 0; i < n; ++i) {
    for (const char* rest = sql[i]; rest && *rest;) {
      sqlite3_stmt* st = nullptr;
      if (sqlite3_prepare_v2(db, rest, -1, &st, &rest) != SQLITE_OK) {
        std::fprintf(stderr, "floor: %s\n", sqlite3_errmsg(db));
        return 74;
      }
      if (!st) continue;  // white space or a comment
      int rc;
      while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        for (int c = 0, cols = sqlite3_column_count(st); c < cols; ++c) {
          const unsigned char* v = sqlite3_column_text(st, c);
          std::printf(c ? "\t%s" : "%s", v ? reinterpret_cast<const char*>(v) : "");
        }
        std::putchar('\n');
      }
      if (rc != SQLITE_DONE) {
        std::fprintf(stderr, "floor: %s\n", sqlite3_errmsg(db));
        return 74;
      }
      sqlite3_finalize(st);
    }
  }
  sqlite3_close(db);
  return 0;
}
