// kanari version add | list | show | diff | cat | checkout
#include "commands.hpp"

#include "core/canonical_json.hpp"
#include "output/files.hpp"
#include "output/tar.hpp"
#include "rollout/versions.hpp"
#include "util/strings.hpp"
#include "util/time.hpp"
#include "yaml/yaml_config.hpp"

#include <cerrno>
#include <cstring>

namespace kanari::cli {

using nlohmann::json;

Result<std::string> resolve(Context& ctx, const std::string& ref) {
  auto lib = ctx.lib();
  KANARI_TRY(lib);
  return rollout::resolve_ref(**lib, ctx.g.track, ref);
}

namespace {

json components_json(const std::vector<core::Component>& comps) {
  json arr = json::array();
  for (const auto& c : comps)
    arr.push_back({{"kind", core::to_string(c.kind)}, {"name", c.name}, {"sha256", c.sha256}, {"bytes", c.bytes}});
  return arr;
}

json opt(const std::optional<std::string>& s) { return s ? json(*s) : json(nullptr); }

// ---- version add ----

struct AddOptions {
  std::vector<std::string> files;
  std::vector<std::string> prompts, tools, other_files, params;
  std::string model, config, label, message;
};

Result<std::pair<std::string, std::string>> split_name_file(const std::string& arg, const std::string& flag) {
  auto eq = arg.find('=');
  if (eq == std::string::npos || eq == 0 || eq + 1 == arg.size())
    return usage_error(flag + " takes NAME=FILE, got " + quote_for_message(arg));
  return std::pair(arg.substr(0, eq), arg.substr(eq + 1));
}

// --config FILE: YAML when FILE ends in .yaml or .yml, else (and on stdin)
// JSON; either way a JSON object (docs/hashing.md).
Result<json> read_config(const std::string& path, Context& ctx) {
  const std::string what = "--config file '" + path + "'";
  if (!yaml::is_yaml_path(path))
    return read_json_object(ctx, path, "--config", what, R"({"model": "m-1"})");
  auto text = read_input(ctx, path, "--config");
  KANARI_TRY(text);
  return yaml::parse_yaml(*text, what);
}

Result<json> build_model(const AddOptions& o, Context& ctx) {
  json model = json::object();
  if (!o.config.empty()) {
    auto parsed = read_config(o.config, ctx);
    KANARI_TRY(parsed);
    model = std::move(*parsed);
  }
  for (const auto& p : o.params) {
    auto eq = p.find('=');
    if (eq == std::string::npos || eq == 0)
      return usage_error("--param takes KEY=VALUE, got " + quote_for_message(p));
    std::string key = p.substr(0, eq), text = p.substr(eq + 1);
    if (!is_valid_utf8(key) || !is_valid_utf8(text))
      return usage_error("--param " + quote_for_message(p) + " is not valid UTF-8");
    json v = json::parse(text, nullptr, /*allow_exceptions=*/false);
    // JSON scalars are taken as such (temperature=0.2 is a number); anything
    // else, including objects and arrays, is the literal string.
    if (v.is_discarded() || v.is_structured())
      v = text;
    model[key] = std::move(v);
  }
  if (!o.model.empty()) {
    if (!is_valid_utf8(o.model))
      return usage_error("--model is not valid UTF-8");
    model["model"] = o.model;
  }
  return model;
}

Result<int> run_add(const AddOptions& o, Context& ctx) {
  auto lib = ctx.lib();
  KANARI_TRY(lib);
  rollout::AddVersionInput in;
  in.track = ctx.g.track;
  auto add = [&](core::ComponentKind kind, const std::string& name, const std::string& file,
                 const std::string& flag) -> Result<void> {
    auto bytes = read_input(ctx, file, flag);
    KANARI_TRY(bytes);
    auto c = core::make_component(kind, name, *bytes);
    KANARI_TRY(c);
    in.components.push_back(std::move(*c));
    return {};
  };
  for (const auto& f : o.files)
    KANARI_TRY(add(core::ComponentKind::prompt, f, f, "prompt file"));
  const std::pair<const std::vector<std::string>*, core::ComponentKind> groups[] = {
      {&o.prompts, core::ComponentKind::prompt},
      {&o.tools, core::ComponentKind::tool},
      {&o.other_files, core::ComponentKind::file}};
  for (const auto& [args, kind] : groups) {
    for (const auto& a : *args) {
      std::string flag = "--" + std::string(core::to_string(kind));
      auto nf = split_name_file(a, flag);
      KANARI_TRY(nf);
      KANARI_TRY(add(kind, nf->first, nf->second, flag + " " + nf->first));
    }
  }
  auto model = build_model(o, ctx);
  KANARI_TRY(model);
  if (in.components.empty() && model->empty())
    return usage_error(
        "nothing to add: give prompt FILEs, --prompt/--tool/--file NAME=FILE, or --model/--param/--config");
  in.model = std::move(*model);
  if (!o.label.empty())
    in.label = o.label;
  if (!o.message.empty())
    in.message = o.message;
  if ((in.label && !is_valid_utf8(*in.label)) || (in.message && !is_valid_utf8(*in.message)))
    return usage_error("--label and --message must be valid UTF-8");
  auto r = rollout::add_version(**lib, std::move(in));
  KANARI_TRY(r);
  if (ctx.g.json) {
    ctx.print_json({{"id", r->id},
                    {"short", r->id.substr(0, core::k_short_id_length)},
                    {"created", r->created},
                    {"track", ctx.g.track},
                    {"became_stable", r->became_stable},
                    {"components", components_json(r->manifest.components)},
                    {"model", r->manifest.model}});
  } else {
    auto& h = ctx.human();
    h << (r->created ? "Created version " : "Version ") << r->id.substr(0, core::k_short_id_length)
      << (r->created ? "" : " already exists (identical content)") << "\n  id     " << r->id << "\n  track  "
      << ctx.g.track << (r->added_to_track ? "" : " (already on it)") << "\n";
    if (r->became_stable)
      h << "  It is the first version on track '" << ctx.g.track << "' and became its stable.\n";
  }
  return 0;
}

// ---- version list ----

struct ListOptions {};

Result<int> run_list(const ListOptions&, Context& ctx) {
  auto lib = ctx.lib();
  KANARI_TRY(lib);
  auto listing = rollout::list_versions(**lib, ctx.g.track);
  KANARI_TRY(listing);
  const auto& versions = listing->versions;
  auto role = [&](const std::string& id) -> json {
    if (listing->stable == id)
      return "stable";
    if (listing->canary == id)
      return "canary";
    return nullptr;
  };
  if (ctx.g.json) {
    json arr = json::array();
    for (const auto& v : versions)
      arr.push_back({{"id", v.version_id},
                     {"label", opt(v.label)},
                     {"created_at", format_rfc3339(v.created_at)},
                     {"role", role(v.version_id)}});
    ctx.print_json(arr);
    return 0;
  }
  auto& h = ctx.human();
  if (versions.empty()) {
    h << "Track '" << ctx.g.track << "' has no versions; add one with `kanari version add`.\n";
    return 0;
  }
  Table table({{"ID"}, {"ROLE"}, {"CREATED"}, {"LABEL"}});
  for (const auto& v : versions) {
    json r = role(v.version_id);
    std::string rs = r.is_null() ? "-" : r.get<std::string>();
    table.add_row({v.version_id.substr(0, core::k_short_id_length),
                   {rs, rs == "stable"   ? style::green
                        : rs == "canary" ? style::yellow
                                         : ""},
                   format_rfc3339(v.created_at),
                   v.label.value_or("")});
  }
  h << table.render(ctx.colour());
  return 0;
}

// ---- version show ----

struct ShowOptions {
  std::string ref;
};

Result<int> run_show(const ShowOptions& o, Context& ctx) {
  auto id = resolve(ctx, o.ref);
  KANARI_TRY(id);
  auto v = rollout::show_version(**ctx.lib(), *id);
  KANARI_TRY(v);
  const auto& r = v->record;
  if (ctx.g.json) {
    ctx.print_json({{"id", r.id},
                    {"short", r.id.substr(0, core::k_short_id_length)},
                    {"components", components_json(r.components)},
                    {"model", v->model},
                    {"label", opt(r.label)},
                    {"message", opt(r.message)},
                    {"author", r.author},
                    {"created_at", format_rfc3339(r.created_at)},
                    {"tracks", v->tracks},
                    {"manifest", json::parse(r.manifest)}});
    return 0;
  }
  auto& h = ctx.human();
  h << "version " << r.id << "\n";
  if (r.label)
    h << "label    " << *r.label << "\n";
  h << "author   " << r.author << "\ncreated  " << format_rfc3339(r.created_at) << "\ntracks  ";
  for (const auto& t : v->tracks)
    h << " " << t;
  h << "\n";
  if (r.message)
    h << "\n    " << *r.message << "\n";
  h << "\ncomponents:\n";
  for (const auto& c : r.components)
    h << "  " << core::to_string(c.kind) << std::string(8 - core::to_string(c.kind).size(), ' ')
      << c.sha256.substr(0, 12) << "  " << c.bytes << " B  " << c.name << "\n";
  h << "model: " << core::canonical_json(v->model) << "\n";
  return 0;
}

// ---- version diff ----

struct DiffOptions {
  std::string from, to;
};

Result<int> run_diff(const DiffOptions& o, Context& ctx) {
  auto a = resolve(ctx, o.from);
  KANARI_TRY(a);
  auto b = resolve(ctx, o.to);
  KANARI_TRY(b);
  auto d = rollout::diff_versions(**ctx.lib(), *a, *b);
  KANARI_TRY(d);
  if (ctx.g.json) {
    json comps = json::array(), model = json::array();
    for (const auto& c : d->components)
      comps.push_back({{"kind", c.kind},
                       {"name", c.name},
                       {"change", c.change},
                       {"old_sha256", opt(c.old_sha256)},
                       {"new_sha256", opt(c.new_sha256)},
                       {"diff", opt(c.diff)}});
    for (const auto& m : d->model)
      model.push_back({{"key", m.key},
                       {"old", m.old_value.value_or(json(nullptr))},
                       {"new", m.new_value.value_or(json(nullptr))},
                       {"change", !m.old_value   ? "added"
                                  : !m.new_value ? "removed"
                                                 : "changed"}});
    ctx.print_json({{"from", d->from}, {"to", d->to}, {"components", comps}, {"model", model}});
    return 0;
  }
  auto& h = ctx.human();
  if (d->components.empty() && d->model.empty()) {
    h << "No differences.\n";
    return 0;
  }
  for (const auto& c : d->components) {
    char mark = c.change == "added" ? '+' : c.change == "removed" ? '-' : '~';
    h << mark << " " << c.kind << " " << c.name << " (" << c.change << ")\n";
    if (c.diff)
      h << *c.diff;
    else if (c.change == "changed")
      h << "  (binary or non-UTF-8 content differs)\n";
  }
  for (const auto& m : d->model) {
    h << "~ model." << m.key << ": " << (m.old_value ? core::canonical_json(*m.old_value) : "(unset)") << " -> "
      << (m.new_value ? core::canonical_json(*m.new_value) : "(unset)") << "\n";
  }
  return 0;
}

// ---- version cat ----

struct CatOptions {
  std::string ref;
  std::string name;
};

// One file of the checkout, byte-exact, on stdout: what an agent runtime
// that shells out reads instead of checking a version out to a directory.
Result<int> run_cat(const CatOptions& o, Context& ctx) {
  if (ctx.g.json)
    return usage_error("--json cannot be combined with version cat, whose output is the file's exact bytes; drop "
                       "--json (version show --json describes the version)");
  auto id = resolve(ctx, o.ref);
  KANARI_TRY(id);
  auto bytes = rollout::checkout_file(**ctx.lib(), *id, o.name);
  KANARI_TRY(bytes);
  ctx.out.write(bytes->data(), static_cast<std::streamsize>(bytes->size()));
  ctx.out.flush();
  if (!ctx.out)
    return operational_error("cannot write to standard output; check where it goes (a full disk, a closed pipe)");
  return 0;
}

// ---- version checkout ----

struct CheckoutOptions {
  std::string ref;
  std::string to;
  bool force = false;
};

Result<int> run_checkout(const CheckoutOptions& o, Context& ctx) {
  const bool to_stdout = o.to == "-";
  if (to_stdout && ctx.g.json)
    return usage_error("--json cannot be combined with --to -, whose tar stream is standard output; drop --json");
  if (to_stdout && ctx.io.out_is_terminal)
    return usage_error("--to - writes a tar stream, and standard output is a terminal; redirect it (> version.tar) or "
                       "pipe it (| tar -x)");
  auto id = resolve(ctx, o.ref);
  KANARI_TRY(id);
  auto co = rollout::checkout_files(**ctx.lib(), *id);
  KANARI_TRY(co);
  std::vector<TreeFile> files;
  for (const auto& f : co->files)
    files.push_back({f.path, f.content});
  if (to_stdout) {
    // The version's creation time, whole seconds, on every entry: the same
    // version always gives the same stream.
    write_tar(ctx.out, files, co->created_at / 1000);
    ctx.out.flush();
    if (!ctx.out)
      return operational_error("cannot write the tar stream to standard output; check where it goes "
                               "(a full disk, a closed pipe)");
    return 0;
  }
  KANARI_TRY(write_tree(
      o.to, files, {o.force ? Overwrite::yes : Overwrite::no, "--to '" + o.to + "'", "pass --force to overwrite"}));
  if (ctx.g.json) {
    json paths = json::array();
    for (const auto& f : files)
      paths.push_back(f.path);
    ctx.print_json({{"id", *id}, {"to", o.to}, {"files", paths}});
  } else {
    ctx.human() << "Checked out " << id->substr(0, core::k_short_id_length) << " into " << o.to << " (" << files.size()
                << " files)\n";
  }
  return 0;
}

} // namespace

void setup_version(CLI::App& app, Registry& reg) {
  auto* version =
      app.add_subcommand("version", "Add, list, show, diff, check out, sign and verify content-addressed versions");
  version->require_subcommand(1);

  auto add = std::make_shared<AddOptions>();
  auto* a = version->add_subcommand("add", "Hash and store a version (identical content yields the same id)");
  a->add_option("FILE", add->files, "prompt files, named by their path as given");
  a->add_option("--prompt", add->prompts, "a prompt as NAME=FILE (raw bytes are hashed)");
  a->add_option("--tool", add->tools, "a JSON tool definition as NAME=FILE (canonical JSON is hashed)");
  a->add_option("--file", add->other_files, "any other file as NAME=FILE (raw bytes)");
  a->add_option("--model", add->model, "the model id (sets the model config's \"model\" key)");
  a->add_option("--param", add->params, "a model parameter KEY=VALUE; JSON scalars parse (0.2 is a number)");
  a->add_option(
      "--config", add->config,
      "the model config: a JSON object, or a YAML mapping if the file name ends in .yaml or .yml (YAML 1.2 core "
      "schema; anchors, tags and non-string keys refused); --param and --model override it");
  a->add_option("--label", add->label, "a short label (metadata, not hashed)");
  a->add_option("--message", add->message, "a description (metadata, not hashed)");
  reg.on(a, add, run_add);

  auto list = std::make_shared<ListOptions>();
  auto* l = version->add_subcommand("list", "The track's versions, newest first, marking stable and canary");
  reg.on(l, list, run_list);

  auto show = std::make_shared<ShowOptions>();
  auto* s = version->add_subcommand("show", "A version's manifest, metadata and tracks");
  s->add_option("REF", show->ref, "id, unique prefix (4+ hex chars), stable or canary")->required();
  reg.on(s, show, run_show);

  auto diff = std::make_shared<DiffOptions>();
  auto* d = version->add_subcommand("diff", "Components added/removed/changed, model keys changed, prompt diffs");
  d->add_option("FROM", diff->from, "the old version REF")->required();
  d->add_option("TO", diff->to, "the new version REF")->required();
  reg.on(d, diff, run_diff);

  auto cat = std::make_shared<CatOptions>();
  auto* k = version->add_subcommand("cat", "Write one component's exact bytes to stdout (model.json: the canonical "
                                           "model JSON), as checkout would write that file");
  k->add_option("REF", cat->ref, "id, unique prefix (4+ hex chars), stable or canary")->required();
  k->add_option("NAME", cat->name, "the component's name as `version show` lists it, or model.json")->required();
  reg.on(k, cat, run_cat);

  auto co = std::make_shared<CheckoutOptions>();
  auto* c =
      version->add_subcommand("checkout", "Write a version's components (and model.json) to a directory, byte-exact, "
                                          "or as a tar stream; never follows a symbolic link");
  c->add_option("REF", co->ref, "id, unique prefix, stable or canary")->required();
  c->add_option("--to", co->to,
                "the directory to write (must be empty unless --force; never a symbolic link), "
                "or - for a tar stream on stdout (./- for a directory named -)")
      ->required();
  c->add_flag("--force", co->force, "overwrite regular files in a non-empty directory (links are still refused)");
  reg.on(c, co, run_checkout);

  setup_version_signing(*version, reg);
}

} // namespace kanari::cli
