// kanari store info / store copy: the store as a whole (rollout/store_ops.hpp).
#include "commands.hpp"

#include "rollout/store_ops.hpp"

namespace kanari::cli {

namespace {

struct InfoOptions {};

Result<int> run_info(const InfoOptions&, Context& ctx) {
  auto lib = ctx.lib();
  KANARI_TRY(lib);
  const auto s = rollout::store_summary(**lib);
  const auto& i = s.info;
  if (ctx.g.json) {
    nlohmann::json counts = nlohmann::json::object();
    for (const auto& [table, n] : i.counts)
      counts[table] = n;
    ctx.print_json({{"backend", i.backend},
                    {"location", i.location},
                    {"schema_version", i.schema_version},
                    {"server", i.server_version},
                    {"counts", counts},
                    {"chain_head", s.chain_head ? nlohmann::json(*s.chain_head) : nlohmann::json(nullptr)}});
    return 0;
  }
  auto& out = ctx.human();
  out << "backend:        " << i.backend << " (" << i.server_version << ")\n"
      << "location:       " << i.location << "\n"
      << "schema version: " << i.schema_version << "\n"
      << "chain head:     " << s.chain_head.value_or("(no events)") << "\n";
  for (const auto& [table, n] : i.counts)
    out << "  " << table << std::string(table.size() < 16 ? 16 - table.size() : 1, ' ') << n << "\n";
  return 0;
}

struct CopyOptions {
  std::string to;
};

Result<int> run_copy(const CopyOptions& o, Context& ctx) {
  auto lib = ctx.lib();
  KANARI_TRY(lib);
  auto r = rollout::copy_store(**lib, o.to);
  KANARI_TRY(r);
  if (ctx.g.json) {
    nlohmann::json rows = nlohmann::json::object();
    for (const auto& [table, n] : r->rows)
      rows[table] = n;
    ctx.print_json({{"to", r->to},
                    {"created", r->created},
                    {"rows", rows},
                    {"chain_head", r->chain_head ? nlohmann::json(*r->chain_head) : nlohmann::json(nullptr)}});
    return 0;
  }
  std::int64_t total = 0;
  for (const auto& [table, n] : r->rows)
    total += n;
  ctx.human() << "Copied " << total << " rows to " << r->to << (r->created ? " (a new store)" : "") << "; chain head "
              << r->chain_head.value_or("(no events)") << ", as the source's.\n"
              << "Check the copy with: kanari --state '" << r->to << "' doctor\n";
  return 0;
}

} // namespace

void setup_store(CLI::App& app, Registry& reg) {
  auto* s = app.add_subcommand("store", "The store as a whole: where it is and what it holds, and copying it");
  s->require_subcommand(1);
  auto io = std::make_shared<InfoOptions>();
  auto* info = s->add_subcommand("info", "Print the backend, the location (never a password), the schema version, "
                                         "the chain head and the rows of each table");
  reg.on(info, io, run_info);
  auto co = std::make_shared<CopyOptions>();
  auto* copy = s->add_subcommand(
      "copy", "Copy everything (versions, blobs, signatures, tracks, rollouts, outcomes, assignments, events) to "
              "another location of either backend: a directory or a postgresql:// URI that holds no store yet "
              "(it is created) or an empty one (exit 5 if it holds data). One transaction: a failed copy leaves "
              "nothing half-written. Also the safe backup of a live SQLite store");
  copy->add_option("--to", co->to, "Where to copy the store: a directory or a postgresql:// URI")->required();
  reg.on(copy, co, run_copy);
}

} // namespace kanari::cli
