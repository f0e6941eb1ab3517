#pragma once

#include <vector>

namespace esc::schema {

// Each engine's schema as numbered migrations: migration N brings a log
// from version N-1 to N (SQLite: PRAGMA user_version; PostgreSQL: the
// esc_schema table). Never edit a released migration: add the next one.
const std::vector<const char*>& sqlite_migrations();
const std::vector<const char*>& postgres_migrations();

}  // namespace esc::schema
