// Not compiled: a verb that reads the store itself, which
// tests/cli/check_layering.sh must refuse (CTest cli_layering_refuses).
#include "commands.hpp"

#include "store/store.hpp"

namespace kanari::cli {

Result<int> run_history(Context& ctx) {
  auto lib = ctx.lib();
  KANARI_TRY(lib);
  return static_cast<int>((*lib)->store.events(ctx.g.track, store::k_no_limit).size());
}

} // namespace kanari::cli
