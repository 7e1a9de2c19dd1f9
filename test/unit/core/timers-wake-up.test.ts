/**
 * When the core next needs the clock (timers.ts): one wake-up, at the earliest time still to come
 * among a staggered node's next start, a retry's backoff, a node's cooldown, a lost node's next
 * probe, the cluster's cooldown or wait — and none for what is past, never coming, or holds back
 * nothing. Each case writes the times it is about; the expected wake-up is the earliest of them.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { Decision } from '../../../src/shared/dispatch/decisions';
import { initialState } from '../../../src/shared/dispatch/init';
import type { NodeRuntime, PlannedState, QueuedJob } from '../../../src/shared/dispatch/state';
import { Step } from '../../../src/shared/dispatch/step';
import { askForWakeUp } from '../../../src/shared/dispatch/timers';
import { jobs, node, plan } from './serving-sweep';

/** docs/sweeps.md: the next job is sent this much before a node's stagger ends. */
const LEAD_MS = 250;

const rigs = [node('a', 2, 2), node('b', 2, 0)];

function runtime(extra: Partial<NodeRuntime> = {}): NodeRuntime {
  return {
    lanes: { free: [0, 1], seats: {}, busyOrder: [] },
    firstStarts: 0,
    cycleStarts: 0,
    cycle: null,
    awaitingStart: null,
    lastStartedAtMs: null,
    endedUnstartedAtMs: null,
    upkeep: null,
    reprobeAtMs: null,
    done: 0,
    failed: 0,
    lastFinished: null,
    leftOutByPreflight: false,
    ...extra,
  };
}

const [firstJob, secondJob] = jobs(2);
const waiting = (notBeforeMs?: number): QueuedJob => ({ job: firstJob, attempt: 1, previous: [], ...(notBeforeMs !== undefined ? { notBeforeMs } : {}) });
const retry = (notBeforeMs: number): QueuedJob => ({ job: secondJob, attempt: 2, previous: [], notBeforeMs });

/** A sweep at `now`: in a batch or not, with this queue and these node runtimes. */
function sweep(now: number, { batch = true, queue = [] as QueuedJob[], a = runtime(), b = runtime() } = {}): Step<PlannedState> {
  const state: PlannedState = {
    ...initialState(0),
    plan: plan({ nodes: rigs, totalJobs: 2 }),
    allNodes: rigs,
    nodes: { a, b },
    queue,
    batch: batch ? { index: 0, number: 1, perNodeCap: null, startedAtMs: 0 } : null,
  };
  return new Step(state, now);
}

const wakeUps = (step: Step<PlannedState>): Decision[] => {
  askForWakeUp(step);
  return step.decisions.filter((d) => d.type === 'wakeAt');
};
const wakeAt = (step: Step<PlannedState>) => wakeUps(step).map((d) => (d as Extract<Decision, { type: 'wakeAt' }>).at);

describe('a staggered node’s next start', () => {
  it('is a stagger after its last confirmed start, less the dispatch lead, while jobs wait in a batch', () => {
    const step = sweep(1500, { queue: [waiting()], a: runtime({ lastStartedAtMs: 1000 }) });
    expect(wakeAt(step)).toEqual([1000 + 2000 - LEAD_MS]);
  });

  it('is a whole stagger after a job that ended without reporting its start', () => {
    expect(wakeAt(sweep(1500, { queue: [waiting()], a: runtime({ endedUnstartedAtMs: 1000 }) }))).toEqual([3000]);
  });

  it('asks for no wake-up while the start report is awaited: the report itself wakes the core', () => {
    expect(wakeUps(sweep(1500, { queue: [waiting()], a: runtime({ lastStartedAtMs: 1000, awaitingStart: 7 }) }))).toEqual([]);
  });

  it('holds back nothing when no job waits, or between batches', () => {
    const started = runtime({ lastStartedAtMs: 1000 });
    expect(wakeUps(sweep(1500, { queue: [], a: started }))).toEqual([]);
    expect(wakeUps(sweep(1500, { batch: false, queue: [waiting()], a: started }))).toEqual([]);
  });
});

describe('a retry’s backoff', () => {
  it('wakes the core when the backoff ends', () => {
    expect(wakeAt(sweep(1000, { queue: [retry(6000)] }))).toEqual([6000]);
  });

  it('asks for nothing once the backoff is over', () => {
    expect(wakeUps(sweep(6000, { queue: [retry(6000)] }))).toEqual([]);
  });
});

describe('the earliest of everything awaited', () => {
  const time = fc.option(fc.integer({ min: 0, max: 20_000 }), { nil: undefined });

  it('one wake-up at the earliest time still to come, none when nothing is', () => {
    fc.assert(
      fc.property(
        fc.record({ now: fc.integer({ min: 0, max: 20_000 }), coolA: time, probeA: time, probeB: time, backoff: time, between: time, wait: fc.boolean() }),
        ({ now, coolA, probeA, probeB, backoff, between, wait }) => {
          const step = sweep(now, {
            queue: backoff === undefined ? [] : [retry(backoff)],
            a: runtime({ cycle: coolA === undefined ? null : { step: 'cooling', untilMs: coolA }, reprobeAtMs: probeA ?? null }),
            b: runtime({ reprobeAtMs: probeB ?? null }),
          });
          if (between !== undefined) step.state.between = { step: wait ? 'probe-wait' : 'cooldown', sinceMs: 0, untilMs: between, failing: ['a'] };
          const ahead = [coolA, probeA, probeB, backoff, between].filter((at): at is number => at !== undefined && at > now);
          expect(wakeAt(step)).toEqual(ahead.length ? [Math.min(...ahead)] : []);
        },
      ),
      { numRuns: 300 },
    );
  });

  it('keeps a wake-up already asked for when it comes first', () => {
    const step = sweep(1000, { a: runtime({ reprobeAtMs: 9000 }) });
    step.state.timerAtMs = 4000;
    expect(wakeUps(step)).toEqual([]);
  });
});
