#pragma once

#include <string>
#include <vector>

namespace kanari::store {

struct Migration {
  int number;       // NNNN of schema/NNNN_description.sql
  const char* name; // the file name
  const char* sql;
};

// Generated at build time from schema/*.sql (cmake/generate_schema.cmake).
const std::vector<Migration>& embedded_migrations();

} // namespace kanari::store
