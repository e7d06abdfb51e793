// The backends behind store::open (open.cpp). Private to store/.
#pragma once

#include "store/store.hpp"

namespace kanari::store {

// The SQLite store under `dir` (the file `dir`/kanari.db).
Result<std::unique_ptr<Store>> open_sqlite(const std::string& dir, OpenMode mode, bool* created);
// The PostgreSQL store in the current schema of the database `uri` names.
Result<std::unique_ptr<Store>> open_postgresql(const std::string& uri, OpenMode mode, bool* created);

// Values of tables.hpp's Row: the shortest decimal that reads back as `v`.
std::string format_real(double v);

} // namespace kanari::store
