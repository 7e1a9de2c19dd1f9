/**
 * When the core next needs to hear from the clock: a staggered node's next start, a retry's
 * backoff, a cooldown, a probe of a lost node, a wait for failing nodes. One wake-up at the
 * earliest of them; each names what it waits for, as Temporal Web shows its timers. Pure code.
 */
import { readyAt } from './dispatching';
import type { PlannedState } from './state';
import type { Step } from './step';

export function askForWakeUp(step: Step<PlannedState>): void {
  const { state, now } = step;
  const wanted: { at: number; summary: string }[] = [];
  const later = (at: number | null | undefined, summary: string) => {
    // A time still to come: not none, not a start report awaited (Infinity), not one already past.
    const time = at ?? NaN;
    if (Number.isFinite(time) && time > now) wanted.push({ at: time, summary });
  };
  // A stagger or a retry's backoff holds back only the jobs a batch has waiting (retries never outlive their batch).
  if (state.batch && state.queue.length > 0) {
    for (const node of state.plan.nodes) later(readyAt(step, node.name), `stagger ${node.name}`);
    for (const entry of state.queue) later(entry.notBeforeMs, `retry backoff ${entry.job.job_id}`);
  }
  for (const [name, runtime] of Object.entries(state.nodes)) {
    later(runtime.cycle?.untilMs, `cooldown ${name}`);
    later(runtime.reprobeAtMs, `probe ${name} again`);
  }
  const between = state.between;
  if (between?.step === 'cooldown') later(between.untilMs, `cooldown after batch ${state.batchesBegun}`);
  if (between?.step === 'probe-wait') later(between.untilMs, `wait for ${(between.failing ?? []).join(', ')}`);
  if (wanted.length === 0) return;
  // The earliest; of two at the same time, the one asked for first (the sort is stable).
  const [first] = wanted.sort((a, b) => a.at - b.at);
  step.wakeAt(first.at, first.summary);
}
