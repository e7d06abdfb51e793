#pragma once

#include <string>
#include <vector>

namespace kanari::store {

struct Migration {
  int number;       // NNNN of schema/<backend>/NNNN_description.sql
  const char* name; // the file name
  const char* sql;
};

// Generated at build time from schema/<backend>/*.sql
// (cmake/generate_schema.cmake), numbered alike.
const std::vector<Migration>& sqlite_migrations();
const std::vector<Migration>& postgresql_migrations();

} // namespace kanari::store
