// Canonical JSON (docs/hashing.md) and the version id over it: what
// `version add` spends per manifest, against one SHA-256 of the same bytes
// measured in the same run.
#include "core/canonical_json.hpp"
#include "core/manifest.hpp"
#include "crypto/sha256.hpp"

#include <benchmark/benchmark.h>

#include <string>

namespace {

nlohmann::json model_config() {
  return nlohmann::json::parse(R"({"model": "gpt-4.1", "params": {"temperature": 0.2, "top_p": 1,
    "max_tokens": 4096, "stop": ["\n\nUser:", "</answer>"]}, "provider": "openai",
    "tools": [{"name": "search", "description": "Search the web for a query and return results",
    "parameters": {"type": "object", "properties": {"q": {"type": "string"}, "k": {"type": "integer"}}}}]})");
}

kanari::core::Manifest manifest() {
  std::vector<kanari::core::Component> components;
  for (int i = 0; i < 4; ++i) {
    std::string text(2048, 'a' + static_cast<char>(i));
    components.push_back(*kanari::core::make_component(kanari::core::ComponentKind::prompt,
                                                       "prompt-" + std::to_string(i) + ".md", text));
  }
  return *kanari::core::make_manifest(std::move(components), model_config());
}

void BM_canonical_json_model_config(benchmark::State& state) {
  const auto j = model_config();
  size_t bytes = 0;
  for (auto _ : state) {
    auto s = kanari::core::canonical_json(j);
    bytes += s.size();
    benchmark::DoNotOptimize(s);
  }
  state.SetBytesProcessed(static_cast<int64_t>(bytes));
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
}
BENCHMARK(BM_canonical_json_model_config);

void BM_version_id_four_prompts(benchmark::State& state) {
  const auto m = manifest();
  for (auto _ : state)
    benchmark::DoNotOptimize(kanari::core::version_id(m));
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
}
BENCHMARK(BM_version_id_four_prompts);

// Baseline: SHA-256 of the canonical manifest's bytes alone.
void BM_baseline_sha256_of_the_manifest(benchmark::State& state) {
  const auto bytes = kanari::core::canonical_manifest(manifest());
  for (auto _ : state)
    benchmark::DoNotOptimize(kanari::crypto::sha256(bytes));
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * bytes.size()));
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
}
BENCHMARK(BM_baseline_sha256_of_the_manifest);

} // namespace
