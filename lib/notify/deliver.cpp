#include "notify/notify.hpp"

#include "rollout/audit.hpp"
#include "rollout/hooks.hpp"

#include <csignal>
#include <map>
#include <pthread.h>
#include <thread>

namespace kanari::notify {

namespace {

struct Job {
  store::DeliveryRecord delivery; // as claimed
  store::EventRecord event;
  std::int64_t attempts_before = 0;
  TimeMs next_before = 0;
  std::optional<AttemptResult> result; // unset: not attempted (an earlier one of its hook failed)
};

struct HookJobs {
  store::HookRecord hook;
  std::vector<Job> jobs;
};

// Attempts a hook's deliveries in order, stopping at the first failure: a
// receiver that is down is asked again at the next retry, not once per
// event now.
void run_hook(HookJobs& h, const Settings& s) {
  sigset_t pipe;
  sigemptyset(&pipe);
  sigaddset(&pipe, SIGPIPE);
  pthread_sigmask(SIG_BLOCK, &pipe, nullptr);
  for (auto& job : h.jobs) {
    job.result = attempt(h.hook, job.event, s);
    if (!job.result->ok)
      break;
  }
}

// Each hook in a thread of its own: one that hangs never delays another.
void run_all(std::vector<HookJobs>& work, const Settings& s) {
  std::vector<std::thread> threads;
  threads.reserve(work.size());
  for (auto& h : work)
    threads.emplace_back([&h, &s] { run_hook(h, s); });
  for (auto& t : threads)
    t.join();
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

  // Claim: each delivery is presumed dead, and may be taken by another
  // process, once its attempt and those before it in its hook's queue have
  // had their time.
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
      auto [it, fresh] = index.emplace(d.hook, work.size());
      if (fresh)
        work.push_back({hook->second, {}});
      auto& jobs = work[it->second].jobs;
      Job job{d, std::move(*event), d.attempts, d.next_attempt_at, std::nullopt};
      job.delivery.attempts += 1;
      job.delivery.last_attempt_at = now;
      job.delivery.next_attempt_at =
          now + static_cast<TimeMs>(jobs.size() + 1) * static_cast<TimeMs>(s.attempt_timeout.count()) + 2'000;
      ctx.store.update_delivery(job.delivery);
      jobs.push_back(std::move(job));
    }
    return {};
  }));

  run_all(work, s);

  std::vector<Attempted> out;
  KANARI_TRY(ctx.store.write([&]() -> Result<void> {
    out.clear();
    const TimeMs now = ctx.clock.now_ms();
    for (const auto& h : work) {
      std::optional<TimeMs> retry_at; // of the hook's failed attempt
      for (const auto& job : h.jobs) {
        store::DeliveryRecord d = job.delivery;
        if (!job.result) { // not attempted: back in the queue behind the failed one
          d.attempts = job.attempts_before;
          d.next_attempt_at = retry_at.value_or(now);
          ctx.store.update_delivery(d);
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
            retry_at = d.next_attempt_at;
          }
        }
        ctx.store.update_delivery(d);
        ctx.store.insert_hook_attempt({0, h.hook.name, d.id, job.event.hash, job.event.action, job.event.track,
                                       d.last_attempt_at.value_or(now), r.duration_ms, r.ok, r.detail});
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
  std::vector<HookJobs> work{{*hook, {Job{{}, e, 0, 0, std::nullopt}}}};
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
