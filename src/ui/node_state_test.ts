import assert from "node:assert/strict";
import { taskState } from "./node_state.ts";

const stale = { action: "run", reason: "task code changed" } as const;

Deno.test("a run in progress decides first: running once its upstream ended, then its result", () => {
  const live = { runId: "r2", upstreamDone: true };
  assert.deepEqual(taskState({ planned: stale, live }), {
    state: "running",
    reason: "running in run r2",
  });
  assert.deepEqual(
    taskState({ planned: stale, live: { ...live, step: { status: "ran", reason: "forced" } } }),
    { state: "up to date", reason: "ran in run r2: forced" },
  );
  assert.deepEqual(
    taskState({
      planned: stale,
      live: { ...live, step: { status: "failed", reason: "task 't' threw: boom" } },
    }),
    { state: "failed", reason: "task 't' threw: boom" },
  );
  // A task still waiting for its upstream in the run keeps what the plan says.
  assert.equal(
    taskState({ planned: stale, live: { ...live, upstreamDone: false } }).state,
    "stale",
  );
});

Deno.test("a failure stands until the task is up to date; never run until a run records it", () => {
  const failed = { status: "failed", reason: "task 't' threw: boom" } as const;
  assert.deepEqual(taskState({ planned: stale, last: failed }), {
    state: "failed",
    reason: "task 't' threw: boom",
  });
  assert.equal(
    taskState({ planned: { action: "skip", reason: "up to date" }, last: failed }).state,
    "up to date",
  );
  assert.deepEqual(taskState({ planned: { action: "fail", reason: "input missing" } }), {
    state: "never run",
    reason: "input missing",
  });
  assert.deepEqual(
    taskState({
      planned: { action: "fail", reason: "input missing" },
      last: { status: "ran", reason: "no previous run" },
    }),
    { state: "stale", reason: "input missing" },
  );
});
