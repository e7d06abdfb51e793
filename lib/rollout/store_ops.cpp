#include "rollout/store_ops.hpp"

#include <filesystem>

namespace kanari::rollout {

namespace {

// Whether `to` names the source store (the same directory, or the same
// URI). `info` is the source's (for SQLite, the path of its kanari.db).
bool same_location(const store::StoreInfo& info, const std::string& to) {
  if (store::is_postgresql_location(to))
    return info.backend == "postgresql" && info.location == store::display_location(to);
  if (info.backend != "sqlite")
    return false;
  std::error_code ec1, ec2;
  const auto source = std::filesystem::weakly_canonical(info.location, ec1);
  const auto dest = std::filesystem::weakly_canonical(std::filesystem::path(to) / store::k_db_file, ec2);
  return !ec1 && !ec2 && source == dest;
}

} // namespace

StoreSummary store_summary(Context& ctx) {
  StoreSummary s{ctx.store.info(), std::nullopt};
  auto r = ctx.store.read([&]() -> Result<void> {
    if (auto e = ctx.store.last_event())
      s.chain_head = e->hash;
    return {};
  });
  (void)r;
  return s;
}

Result<CopySummary> copy_store(Context& ctx, const std::string& to) {
  CopySummary sum;
  sum.to = store::display_location(to);
  if (same_location(ctx.store.info(), to))
    return usage_error("--to names the store being copied; give another directory or database");
  auto dst = store::open(to, store::OpenMode::create, &sum.created);
  KANARI_TRY(dst);
  store::Store& out = **dst;
  std::optional<std::string> source_head;
  auto r = ctx.store.read([&]() -> Result<void> {
    if (auto e = ctx.store.last_event())
      source_head = e->hash;
    return out.write([&]() -> Result<void> {
      sum.rows.clear(); // write() may run this more than once
      sum.chain_head.reset();
      if (!out.is_empty())
        return conflict_error(sum.to + " holds a kanari store with data already; copy into a new location "
                                       "or an empty store (`kanari init` there)");
      constexpr size_t k_batch = 1000;
      std::vector<store::Row> batch;
      for (const auto& t : store::tables()) {
        std::int64_t n = 0;
        batch.clear();
        ctx.store.for_each_row(t, [&](const store::Row& row) {
          batch.push_back(row);
          ++n;
          if (batch.size() == k_batch) {
            out.insert_rows(t, batch);
            batch.clear();
          }
        });
        if (!batch.empty())
          out.insert_rows(t, batch);
        sum.rows.emplace_back(t.name, n);
      }
      out.finish_copy();
      if (auto e = out.last_event())
        sum.chain_head = e->hash;
      if (sum.chain_head != source_head)
        return operational_error("the copy's event chain ends at " + sum.chain_head.value_or("(no event)") +
                                 " but the source's at " + source_head.value_or("(no event)") + "; nothing was copied");
      return {};
    });
  });
  KANARI_TRY(r);
  return sum;
}

} // namespace kanari::rollout
