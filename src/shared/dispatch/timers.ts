/**
 * When the core next needs to hear from the clock: a staggered node's next start, a retry's
 * backoff, a cooldown, a probe of a lost node, a wait for failing nodes. One wake-up at the
 * earliest of them; each names what it waits for, as Temporal Web shows its timers. Pure code.
 */
import { readyAt } from './dispatching';
import type { Step } from './step';

export function askForWakeUp(step: Step): void {
  const { state, now } = step;
  const wanted: { at: number; summary: string }[] = [];
  const later = (at: number | null | undefined, summary: string) => {
    if (at !== null && at !== undefined && at > now && Number.isFinite(at)) wanted.push({ at, summary });
  };
  if (state.batch && state.queue.length > 0) {
    for (const node of state.plan?.nodes ?? []) later(readyAt(step, node.name), `stagger ${node.name}`);
  }
  if (state.batch) for (const entry of state.queue) later(entry.notBeforeMs, `retry backoff ${entry.job.job_id}`);
  for (const [name, runtime] of Object.entries(state.nodes)) {
    later(runtime.cycle?.untilMs, `cooldown ${name}`);
    later(runtime.reprobeAtMs, `probe ${name} again`);
  }
  const between = state.between;
  if (between?.step === 'cooldown') later(between.untilMs, `cooldown after batch ${state.batchesBegun}`);
  if (between?.step === 'probe-wait') later(between.untilMs, `wait for ${(between.failing ?? []).join(', ')}`);
  if (wanted.length === 0) return;
  const first = wanted.reduce((a, b) => (b.at < a.at ? b : a));
  step.wakeAt(first.at, first.summary);
}
