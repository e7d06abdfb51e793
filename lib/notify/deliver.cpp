#include "notify/notify.hpp"

#include "rollout/audit.hpp"
#include "rollout/hooks.hpp"

#include <csignal>
#include <system_error>
#include <map>
#include <pthread.h>
#include <thread>

namespace kanari::notify {

namespace {

struct Job {
  store::DeliveryRecord delivery; // as claimed
  store::EventRecord event;
  std::int64_t attempts_before = 0;
  std::optional<AttemptResult> result; // unset: not attempted
  store::DeliveryRecord before;        // as it was before the claim
};

struct HookJobs {
  store::HookRecord hook;
  std::vector<Job> jobs;
};

using Steady = std::chrono::steady_clock;

// Attempts a hook's deliveries in order within the hook's budget. When the
// receiver is down the rest wait for the retry (it is asked once, not once
// per event); when it refuses one event, the next ones are still sent.
void run_hook(HookJobs& h, const Settings& s) {
  const auto deadline = Steady::now() + s.hook_budget;
  for (auto& job : h.jobs) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Steady::now());
    if (left < std::chrono::milliseconds(500))
      break; // the budget is spent: the rest are due again at once
    // The first attempt gets its whole time (the budget's start was a
    // moment ago), the later ones what is left of the budget.
    const auto timeout = left + std::chrono::milliseconds(100) >= s.attempt_timeout ? s.attempt_timeout : left;
    job.result = attempt(h.hook, job.event, s, timeout);
    if (!job.result->ok && job.result->receiver_down)
      break;
  }
}

// Each hook on a thread of its own, so one that hangs never delays another.
// The threads block SIGPIPE: a receiver that hangs up costs an error, not
// the process. Should no thread start, the hook runs here.
void run_all(std::vector<HookJobs>& work, const Settings& s) {
  init_transports();
  sigset_t pipe, old;
  sigemptyset(&pipe);
  sigaddset(&pipe, SIGPIPE);
  pthread_sigmask(SIG_BLOCK, &pipe, &old); // inherited by the threads
  std::vector<std::thread> threads;
  threads.reserve(work.size());
  for (auto& h : work) {
    try {
      threads.emplace_back([&h, &s] { run_hook(h, s); });
    } catch (const std::system_error&) {
      run_hook(h, s);
    }
  }
  for (auto& t : threads)
    t.join();
  // A SIGPIPE raised meanwhile on this thread is pending: take it before
  // the mask goes back.
  timespec zero{0, 0};
  while (sigtimedwait(&pipe, nullptr, &zero) > 0) {
  }
  pthread_sigmask(SIG_SETMASK, &old, nullptr);
}

} // namespace

Result<std::vector<Attempted>> deliver_due(rollout::Context& ctx, const Settings& s) {
  // Most commands find nothing due: one read, and nothing written.
  bool any = false;
  KANARI_TRY(ctx.store.read([&]() -> Result<void> {
    any = !ctx.store.due_deliveries(ctx.clock.now_ms(), 1).empty();
    return {};
  }));
  if (!any)
    return std::vector<Attempted>{};

  // Claim: until this run's budget and a margin have passed, no other
  // process takes these deliveries; one that is killed meanwhile leaves
  // them to whoever comes after.
  std::vector<HookJobs> work;
  KANARI_TRY(ctx.store.write([&]() -> Result<void> {
    work.clear();
    const TimeMs now = ctx.clock.now_ms();
    std::map<std::string, store::HookRecord> hooks;
    for (auto& h : ctx.store.hooks())
      hooks.emplace(h.name, std::move(h));
    std::map<std::string, size_t> index;
    for (auto& d : ctx.store.due_deliveries(now, k_claim_limit)) {
      auto hook = hooks.find(d.hook);
      auto event = ctx.store.get_event(d.event_seq);
      if (hook == hooks.end() || !event)
        continue; // the foreign keys keep both; a damaged store is doctor's
      Job job{d, std::move(*event), d.attempts, std::nullopt, d};
      job.delivery.attempts += 1;
      job.delivery.last_attempt_at = now;
      job.delivery.next_attempt_at = now + static_cast<TimeMs>(s.hook_budget.count()) + k_claim_margin_ms;
      if (!ctx.store.update_delivery(job.delivery, job.attempts_before))
        continue;
      auto [it, fresh] = index.emplace(d.hook, work.size());
      if (fresh)
        work.push_back({hook->second, {}});
      work[it->second].jobs.push_back(std::move(job));
    }
    return {};
  }));

  run_all(work, s);

  // Record, each row only if it is still this run's claim.
  std::vector<Attempted> out;
  KANARI_TRY(ctx.store.write([&]() -> Result<void> {
    out.clear();
    const TimeMs now = ctx.clock.now_ms();
    for (const auto& h : work) {
      std::optional<TimeMs> retry_at; // when the receiver was found down
      for (const auto& job : h.jobs) {
        store::DeliveryRecord d = job.delivery;
        if (!job.result) { // not attempted: due again with the receiver, or at once
          d = job.before;
          d.next_attempt_at = retry_at.value_or(now);
          ctx.store.update_delivery(d, job.delivery.attempts);
          continue;
        }
        const AttemptResult& r = *job.result;
        if (r.ok) {
          d.state = store::DeliveryState::delivered;
          d.done_at = now;
          d.last_error.reset();
        } else {
          d.last_error = r.detail;
          if (now - d.created_at >= k_give_up_ms) {
            d.state = store::DeliveryState::failed;
            d.done_at = now;
          } else {
            d.next_attempt_at = now + retry_delay_ms(d.attempts);
            if (r.receiver_down)
              retry_at = d.next_attempt_at;
          }
        }
        const bool still_ours = ctx.store.update_delivery(d, job.delivery.attempts);
        ctx.store.insert_hook_attempt({0, h.hook.name, d.id, job.event.hash, job.event.action, job.event.track,
                                       d.last_attempt_at.value_or(now), r.duration_ms, r.ok, r.detail});
        if (still_ours)
          out.push_back({d, job.event, r});
      }
    }
    return {};
  }));
  return out;
}

Result<Attempted> test_hook(rollout::Context& ctx, const std::string& name, const std::string& track,
                            const Settings& s) {
  std::optional<store::HookRecord> hook;
  store::EventRecord e;
  KANARI_TRY(ctx.store.read([&]() -> Result<void> {
    hook = rollout::find_hook(ctx, name);
    if (!hook)
      return not_found_error("no hook named '" + name + "'; `kanari hook list` shows them");
    return {};
  }));
  // Synthetic, and not in the chain: seq 0, no predecessor, and the hash
  // of what it says (its time included, so each test is a new event to a
  // receiver that deduplicates by Kanari-Event).
  e.at = ctx.clock.now_ms();
  e.actor = ctx.actor;
  e.action = "test";
  e.track = hook->track.value_or(track);
  e.reason = "a test of hook " + name + " (kanari hook test)";
  e.evidence = "{}";
  e.prev_hash = rollout::k_genesis_hash;
  e.hash = rollout::event_hash(e.prev_hash, e);
  std::vector<HookJobs> work{{*hook, {Job{{}, e, 0, std::nullopt, {}}}}};
  run_all(work, s);
  const AttemptResult r = *work[0].jobs[0].result;
  KANARI_TRY(ctx.store.write([&]() -> Result<void> {
    ctx.store.insert_hook_attempt(
        {0, name, std::nullopt, e.hash, e.action, e.track, e.at, r.duration_ms, r.ok, r.detail});
    return {};
  }));
  return Attempted{{}, e, r};
}

} // namespace kanari::notify
