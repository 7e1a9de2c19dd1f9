/**
 * `rigsweep plan` plays the dispatcher core on a virtual clock against an ideal cluster: the same
 * rules as a real sweep, read here as stories a reader can check by hand.
 */
import { describe, expect, it } from 'vitest';
import { jobBatchingSchema, preflightSchema } from '../../src/shared/config';
import { simulateSweep } from '../../src/shared/dispatch/ideal-run';
import type { SweepNode } from '../../src/shared/nodes';
import { planBatches } from '../../src/shared/planner';
import type { SweepPlan } from '../../src/shared/sweep-plan';

function node(name: string, gpuCount: number, staggerSeconds: number, extra: Partial<SweepNode> = {}): SweepNode {
  return {
    name,
    hostname: name,
    scriptPath: '/w',
    pythonEnv: 'python3',
    gpuCount,
    maxConcurrent: gpuCount,
    staggerSeconds,
    isLocal: false,
    isRocm: true,
    ...extra,
  };
}

function plan(nodes: SweepNode[], totalJobs: number, batching: Record<string, unknown> = {}): SweepPlan {
  const parsed = jobBatchingSchema.parse(batching);
  return {
    ...planBatches(totalJobs, nodes.length, parsed),
    runId: 'r',
    configFile: 'c.json',
    nodes,
    skippedNodes: [],
    jobSource: { kind: 'inline' },
    totalJobs,
    resultsDir: '/tmp/r',
    outputDir: '/tmp',
    preservePaths: true,
    maxRetries: 0,
    retryBackoffSeconds: 5,
    batching: parsed,
    preflight: preflightSchema.parse({}),
  };
}

const ids = (count: number) => Array.from({ length: count }, (_, i) => `j${i}`);

describe('the plan of a sweep', () => {
  it('staggers starts on one node and reuses the GPU idle longest', () => {
    // 0: j0 on GPU0; 1: j1 on GPU1 (stagger); 3: j0 ends, j2 on GPU0; 4: j1 ends and the stagger is over, j3 on GPU1.
    const sweep = simulateSweep(plan([node('rig', 2, 1)], 4), ids(4), { trialSeconds: 3 });
    expect(sweep.jobs.map(({ gpu, start, end }) => [gpu, start, end])).toEqual([
      [0, 0, 3],
      [1, 1, 4],
      [0, 3, 6],
      [1, 4, 7],
    ]);
    expect(sweep.batches).toEqual([{ batch: 1, jobs: 4, start: 0, end: 7 }]);
  });

  it('holds each node to its cap per batch, resets and cools down between batches', () => {
    const a = node('a', 4, 0);
    const b = node('b', 2, 1);
    const batched = plan([a, b], 8, { max_jobs_per_batch: 4, max_jobs_per_node_per_batch: 2, inter_batch_cooldown_seconds: 5 });
    // 0: a takes j0, b j1, a j2 (a is at its cap of 2); 1: b's stagger is over, j3. The barrier at 11
    // (j3's end), a 1.5 s reset and a 5 s cooldown: batch 2 at 17.5, on the GPUs idle longest.
    const sweep = simulateSweep(batched, ids(8), { trialSeconds: 10, resetSeconds: 1.5 });
    expect(sweep.jobs.map(({ node: n, gpu, start, batch }) => `${n}:${gpu}@${start}#${batch}`)).toEqual([
      'a:0@0#1',
      'b:0@0#1',
      'a:1@0#1',
      'b:1@1#1',
      'a:2@17.5#2',
      'b:0@17.5#2',
      'a:3@17.5#2',
      'b:1@18.5#2',
    ]);
    expect(sweep.batches.map(({ batch, jobs, start, end }) => [batch, jobs, start, end])).toEqual([
      [1, 4, 0, 11],
      [2, 4, 17.5, 28.5],
    ]);
  });

  it('runs a sweep without batches as its one batch, its segments growing without a drain', () => {
    const sweep = simulateSweep(plan([node('a', 4, 0)], 250, { enabled: false }), ids(250), { trialSeconds: 1 });
    expect(sweep.batches).toEqual([{ batch: 1, jobs: 250, start: 0, end: expect.any(Number) as unknown }]);
    // 4 lanes, one second per trial, no gap at the 100-job segment edges: 250 / 4 rounds up to 63 s.
    expect(sweep.jobs.at(-1)!.end).toBe(63);
  });

  it('gives each node of a rolling sweep its own rhythm: cap, reset, cooldown, while the others work', () => {
    const rolling = plan([node('a', 2, 0), node('b', 2, 0)], 12, {
      mode: 'rolling',
      max_jobs_per_batch: 4,
      max_jobs_per_node_per_batch: 2,
      inter_batch_cooldown_seconds: 3,
    });
    const sweep = simulateSweep(rolling, ids(12), { trialSeconds: 2, resetSeconds: 1 });
    const onA = sweep.jobs.filter((job) => job.node === 'a').map((job) => job.start);
    // Two jobs, drain at 2, reset until 3, cooldown until 6: then two more.
    expect(onA.slice(0, 4)).toEqual([0, 0, 6, 6]);
  });
});
