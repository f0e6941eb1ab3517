// The floor for esc's start-up: a bare C++ program that opens an SQLite
// database and runs one query (SELECT 1 unless given another).
#include <sqlite3.h>

#include <cstdio>

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: floor DB [SQL]\n");
    return 64;
  }
  sqlite3* db = nullptr;
  if (sqlite3_open_v2(argv[1], &db, SQLITE_OPEN_READWRITE, nullptr) != SQLITE_OK) return 74;
  sqlite3_stmt* st = nullptr;
  if (sqlite3_prepare_v2(db, argc > 2 ? argv[2] : "SELECT 1", -1, &st, nullptr) != SQLITE_OK) return 74;
  while (sqlite3_step(st) == SQLITE_ROW) std::printf("%s\n", reinterpret_cast<const char*>(sqlite3_column_text(st, 0)));
  sqlite3_finalize(st);
  sqlite3_close(db);
  return 0;
}
