/**
 * A failed sweep is over (flow.ts): once the core decided `failSweep` — pre-flight could not reach
 * a required node, a node failed its health probe under `on_failure: fail` — it asks for nothing
 * more: no wake-up for a time still to come, and nothing at all for any later event. Expectations
 * come from the plan and the events.
 */
import { describe, expect, it } from 'vitest';
import { preflightSchema } from '../../../src/shared/config';
import { node, ofType, plan, Sweep, twoBatchesOfTwo } from './serving-sweep';

describe('a pre-flight that fails the sweep', () => {
  it('ends it: a timer, an operator or a cancel heard afterwards decide nothing', () => {
    const planned = plan({ nodes: [node('a', 1), node('b', 1)], totalJobs: 2 });
    const sweep = new Sweep({ ...planned, preflight: preflightSchema.parse({ enabled: true, required: true }) });
    const [asked] = ofType(sweep.send({ type: 'begin' }, 0), 'plan');
    const [checkA, checkB] = ofType(sweep.send({ type: 'planned', work: asked.work, plan: sweep.plan }, 0), 'probeNode');
    expect(sweep.probed(checkA, true, 1000)).toEqual([]);
    // b cannot be reached, and pre-flight.required is set.
    expect(ofType(sweep.probed(checkB, null, 2000), 'failSweep').map((failed) => failed.errorType)).toEqual(['PreflightFailed']);
    expect(sweep.send({ type: 'timerFired' }, 3000)).toEqual([]);
    expect(sweep.send({ type: 'pause' }, 4000)).toEqual([]);
    expect(sweep.send({ type: 'cancel' }, 5000)).toEqual([]);
  });
});

describe('a health probe that fails the sweep', () => {
  it('asks for no wake-up after it, though a lost node’s next probe was still to come', () => {
    // Two barrier batches; each node is probed before the second, and a failed probe fails the sweep.
    const sweep = new Sweep(twoBatchesOfTwo({ nodeHealth: { probe_before_batch: true, on_failure: 'fail' } }));
    sweep.start();
    // Both nodes are lost at the end of the first batch: a is due a probe at 15 s, b at 16 s
    // (docs/dispatcher-core.md: a lost node is probed every 5 s).
    sweep.lost('j0', 10_000);
    const probes = ofType(sweep.settle(sweep.lost('j1', 11_000)), 'probeNode');
    expect(probes.map((probe) => [probe.node.name, probe.lost])).toEqual([
      ['a', false],
      ['b', false],
    ]);
    sweep.probed(probes[0], false, 12_000);
    // b's answer comes in at 15 s, ahead of the timer due then: a failed, so the sweep fails.
    const failing = sweep.probed(probes[1], true, 15_000);
    const failed = failing.findIndex((decision) => decision.type === 'failSweep');
    expect(failed).toBeGreaterThanOrEqual(0);
    expect(failing.slice(failed + 1)).toEqual([]);
    expect(sweep.send({ type: 'timerFired' }, 15_000)).toEqual([]);
  });
});
