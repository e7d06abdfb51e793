-- kanari store: rollouts whose steps begin with shadow steps
-- (docs/routing.md, "Shadow steps"). shadow_steps is how many of a
-- rollout's steps, counted from the first, are shadow steps: in those,
-- everyone is served stable and the keys below the step's percentage are
-- mirrored to the canary; in the later ones the canary is served as usual.
-- The column `shadow` keeps its meaning: the rollout has at least one
-- shadow step, so a task may carry outcomes for both versions.
--
-- Before this migration a shadow rollout (`canary start --shadow`) made
-- every step a shadow step, so those rollouts get as many shadow steps as
-- they have steps. Only the rollouts table is touched.
ALTER TABLE rollouts ADD COLUMN shadow_steps INTEGER NOT NULL DEFAULT 0;
UPDATE rollouts SET shadow_steps = json_array_length(steps) WHERE shadow = 1;
