/**
 * Continue-as-new (flow.ts): a run whose history grew long hands the sweep over to a new one at
 * a quiet point between batches — nothing runs anywhere and every result is recorded — never
 * while a piece of work is out, whose answer the new run would never hear. Expectations come from
 * the plan and the events.
 */
import { describe, expect, it } from 'vitest';
import { node, ofType, plan, Sweep } from './serving-sweep';

describe('a run due to continue as new', () => {
  it('waits for the rig reset under way between batches, and for its record, then continues as new', () => {
    // Two barrier batches of one job; the rig is reset between them.
    const sweep = new Sweep(
      plan({
        nodes: [node('a', 1)],
        totalJobs: 2,
        batches: {
          ranges: [
            [0, 1],
            [1, 2],
          ],
          perNodeCap: 1,
          maxJobsPerBatch: 1,
        },
      }),
    );
    sweep.start();
    const [record] = ofType(sweep.ended('j0', true, 1000), 'record');
    const [reset] = ofType(sweep.send({ type: 'recorded', work: record.work }, 1000), 'resetNode');
    expect(reset.node.name).toBe('a');
    expect(ofType(sweep.send({ type: 'runDue' }, 2000), 'continueAsNew')).toEqual([]);
    // The reset's span goes to the run folder first: the record is out, so no quiet point yet.
    const [spanRecord] = ofType(sweep.send({ type: 'nodeReset', work: reset.work, outcome: { ok: true, message: 'reset' } }, 3000), 'record');
    expect(spanRecord.timeline.map((span) => [span.kind, span.start_ms, span.end_ms])).toEqual([['reset', 1000, 3000]]);
    expect(ofType(sweep.decided, 'continueAsNew')).toEqual([]);
    expect(sweep.send({ type: 'recorded', work: spanRecord.work }, 3100)).toEqual([{ type: 'continueAsNew' }]);
    // The next batch is the new run's: this one started nothing more.
    expect(ofType(sweep.decided, 'loadJobs').map((read) => [read.start, read.end])).toEqual([[0, 1]]);
  });
});
