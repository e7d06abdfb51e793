// The store's tables as every backend holds them, for what treats them as
// rows rather than records: `kanari store copy` and `kanari store info`.
// Both backends' schemas (schema/<backend>/) have these columns, so a row
// read from one can be written to the other.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace kanari::store {

enum class ColumnType { integer, real, text, bytes };

struct Column {
  const char* name;
  ColumnType type;
};

struct Table {
  const char* name;
  std::vector<Column> columns;
  const char* key; // the ordering key of a copy
};

// One value per column: integers in decimal, reals in their shortest exact
// decimal form, text and bytes as they are; nullopt is NULL.
using Row = std::vector<std::optional<std::string>>;

// In an order that satisfies every foreign key when inserted.
const std::vector<Table>& tables();

struct StoreInfo {
  std::string backend;  // "sqlite" or "postgresql"
  std::string location; // without a password
  std::int64_t schema_version = 0;
  std::string server_version;                               // the engine's own version
  std::vector<std::pair<std::string, std::int64_t>> counts; // rows per table, in tables() order
};

} // namespace kanari::store
