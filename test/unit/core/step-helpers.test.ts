/**
 * The Step every rule of the core works through: the decisions one step makes, work in flight
 * under fresh ids, the progress log followers read (numbered, bounded), warnings, the one wake-up
 * the clock holds. Each check drives a Step directly and reads back what it was given.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { Decision } from '../../../src/shared/dispatch/decisions';
import { initialState } from '../../../src/shared/dispatch/init';
import { inService, isPlanned, Step } from '../../../src/shared/dispatch/step';
import type { NewSweepEvent } from '../../../src/shared/progress';
import { node, plan } from './serving-sweep';

/** Progress lines a follower can read back (step.ts keeps this many, the newest). */
const LOG_KEPT = 500;

const line = (batch: number): NewSweepEvent => ({ kind: 'batch-start', batch, batchCount: 9, jobs: 3 });

describe('a step', () => {
  it('starts with no decisions and returns exactly the ones it made, in order', () => {
    const step = new Step(initialState(0), 0);
    expect(step.decisions).toEqual([]);
    const made: Decision[] = [
      { type: 'publish', what: 'plan' },
      { type: 'coolingDown', seconds: 2 },
    ];
    for (const decision of made) step.decide(decision);
    const begun = step.begin({ kind: 'record' }, (work) => ({ type: 'record', work, results: [], timeline: [], summary: 'r' }));
    expect(step.decisions).toEqual([...made, begun]);
  });

  it('gives each piece of work an id no other work has, and keeps it in flight until it ends', () => {
    const step = new Step(initialState(0), 0);
    const ids = [1, 2, 3].map(() => step.begin({ kind: 'record' }, (work) => ({ type: 'record', work, results: [], timeline: [], summary: '' })).work);
    expect(new Set(ids).size).toBe(3);
    expect(Object.keys(step.state.work).map(Number).sort()).toEqual([...ids].sort());
    expect(step.finish(ids[1])).toEqual({ kind: 'record' });
    expect(step.finish(ids[1])).toBeUndefined();
    expect(Object.keys(step.state.work).map(Number).sort()).toEqual([ids[0], ids[2]].sort());
  });

  it('numbers progress lines one after another and keeps the newest 500', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 800 }), (count) => {
        const step = new Step(initialState(0), 0);
        for (let i = 1; i <= count; i++) step.log(line(i));
        const { events, seq } = step.state.log;
        expect(seq).toBe(count);
        expect(events).toHaveLength(Math.min(count, LOG_KEPT));
        // The newest lines, each as it was logged and numbered in order.
        events.forEach((event, i) => {
          const n = count - events.length + 1 + i;
          expect(event).toEqual({ ...line(n), seq: n });
        });
      }),
      { numRuns: 15, examples: [[LOG_KEPT], [LOG_KEPT + 1]] },
    );
  });

  it('keeps every warning, in order', () => {
    const step = new Step(initialState(0), 0);
    step.warn('first');
    step.warn('second');
    expect(step.state.warnings).toEqual(['first', 'second']);
  });

  it('knows the sweep’s nodes by name and refuses one it does not have', () => {
    const rig = node('rig', 2);
    const step = new Step({ ...initialState(0), allNodes: [rig] }, 0);
    expect(step.node('rig')).toBe(rig);
    expect(() => step.node('elsewhere')).toThrow();
  });

  it('is planned once it has a plan, in service once the numbers are in force too', () => {
    const planned = { ...initialState(0), plan: plan({ nodes: [node('rig', 1)], totalJobs: 1 }) };
    const settings = { max_jobs_per_batch: 1, max_jobs_per_node_per_batch: 1, inter_batch_cooldown_seconds: 0, stagger_delay: { rig: 0 } };
    expect([isPlanned(new Step(initialState(0), 0)), inService(new Step(initialState(0), 0))]).toEqual([false, false]);
    expect([isPlanned(new Step(planned, 0)), inService(new Step(planned, 0))]).toEqual([true, false]);
    expect([isPlanned(new Step({ ...planned, settings }, 0)), inService(new Step({ ...planned, settings }, 0))]).toEqual([true, true]);
  });
});

describe('one wake-up at a time', () => {
  const wakeUps = (step: Step) => step.decisions.filter((d) => d.type === 'wakeAt');

  /** A step at `now` whose clock already holds a wake-up at `pending` (null: none). */
  const at = (now: number, pending: number | null) => new Step({ ...initialState(0), timerAtMs: pending }, now);

  it('asks for a wake-up when none is pending, and remembers it', () => {
    const step = at(1000, null);
    step.wakeAt(5000, 'stagger');
    expect(wakeUps(step)).toEqual([{ type: 'wakeAt', at: 5000, summary: 'stagger' }]);
    expect(step.state.timerAtMs).toBe(5000);
  });

  it('asks for none when one pending in the future comes first or at the same time', () => {
    for (const wanted of [5000, 9000]) {
      const step = at(1000, 5000);
      step.wakeAt(wanted, 'later');
      expect(wakeUps(step)).toEqual([]);
      expect(step.state.timerAtMs).toBe(5000);
    }
  });

  it('asks again for an earlier one, or when the pending one is due now or past', () => {
    for (const [now, pending, wanted] of [
      [1000, 5000, 3000],
      [5000, 5000, 8000],
      [6000, 5000, 8000],
    ]) {
      const step = at(now, pending);
      step.wakeAt(wanted, 'next');
      expect(wakeUps(step)).toEqual([{ type: 'wakeAt', at: wanted, summary: 'next' }]);
      expect(step.state.timerAtMs).toBe(wanted);
    }
  });
});
