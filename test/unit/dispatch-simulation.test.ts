import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { jobBatchingSchema, nodeConfigSchema } from '../../src/shared/config';
import { type SimulatedSweep, type SimulationPlan, simulateSweep } from '../../src/shared/dispatch-simulation';
import { type SweepNode, toSweepNode } from '../../src/shared/nodes';
import { type BatchRange, planBatches } from '../../src/shared/planner';

function node(name: string, gpuCount: number, staggerSeconds: number, extra: Partial<SweepNode> = {}): SweepNode {
  return { name, hostname: name, scriptPath: '/w', pythonEnv: 'python3', gpuCount, maxConcurrent: gpuCount, staggerSeconds, isLocal: false, isRocm: true, ...extra };
}

function oneBatch(nodes: SweepNode[], jobs: number): SimulationPlan {
  return { nodes, batches: [{ index: 0, start: 0, end: jobs }], perNodeCap: null, cooldownSeconds: 0, resetBetweenBatches: false };
}

const ids = (count: number) => Array.from({ length: count }, (_, i) => `j${i}`);
const column = <K extends keyof SimulatedSweep['jobs'][number]>(sweep: SimulatedSweep, key: K) => sweep.jobs.map((job) => job[key]);

describe('simulateSweep', () => {
  it('staggers starts on one node and reuses the GPU idle longest', () => {
    // 0: j0 on GPU0; 1: j1 on GPU1 (stagger); 3: j0 ends, j2 on GPU0; 4: j1 ends and the stagger is over, j3 on GPU1.
    const sweep = simulateSweep(oneBatch([node('rig', 2, 1)], 4), ids(4), { trialSeconds: 3 });
    expect(column(sweep, 'start')).toEqual([0, 1, 3, 4]);
    expect(column(sweep, 'gpu')).toEqual([0, 1, 0, 1]);
    expect(column(sweep, 'end')).toEqual([3, 4, 6, 7]);
    expect(sweep.makespan).toBe(7);
  });

  it('holds each node to its cap per batch, resets and cools down between batches, and starts each batch on GPU0', () => {
    const a = node('a', 4, 0);
    const b = node('b', 2, 1);
    const batches: BatchRange[] = [
      { index: 0, start: 0, end: 4 },
      { index: 1, start: 4, end: 8 },
    ];
    const plan: SimulationPlan = { nodes: [a, b], batches, perNodeCap: 2, cooldownSeconds: 5, resetBetweenBatches: true };
    // 0: a takes j0, b j1, a j2 (no stagger; now at its cap of 2); 1: b's stagger is over, j3.
    // Barrier at 11 (j3's end), then 1.5 s reset and 5 s cooldown: batch 2 at 17.5, the same pattern.
    const sweep = simulateSweep(plan, ids(8), { trialSeconds: 10, resetSeconds: 1.5 });
    expect(sweep.jobs.map(({ node, gpu, start }) => `${node}:${gpu}@${start}`)).toEqual([
      'a:0@0', 'b:0@0', 'a:1@0', 'b:1@1',
      'a:0@17.5', 'b:0@17.5', 'a:1@17.5', 'b:1@18.5',
    ]);
    expect(column(sweep, 'batch')).toEqual([1, 1, 1, 1, 2, 2, 2, 2]);
    expect(sweep.batches).toEqual([
      { batch: 1, jobs: 4, start: 0, end: 11 },
      { batch: 2, jobs: 4, start: 17.5, end: 28.5 },
    ]);
    expect(sweep.makespan).toBe(28.5);

    // Without the cap, a takes j3 at once; without resets, only the cooldown separates the batches.
    expect(simulateSweep({ ...plan, perNodeCap: null }, ids(8), { trialSeconds: 10 }).jobs[3]).toMatchObject({ node: 'a', gpu: 2, start: 0 });
    expect(simulateSweep({ ...plan, resetBetweenBatches: false }, ids(8), { trialSeconds: 10, resetSeconds: 1.5 }).batches[1].start).toBe(16);
    // trialSweep resets rigs only: a cluster of localhost alone has no reset to wait for.
    const local = { ...plan, nodes: [{ ...a, isLocal: true }, { ...b, isLocal: true }] };
    expect(simulateSweep(local, ids(8), { trialSeconds: 10, resetSeconds: 1.5 }).batches[1].start).toBe(16);
  });

  it('rotates GPUs on a node that runs fewer jobs at once than it has GPUs', () => {
    // 2 lanes over 3 GPUs: a released GPU goes to the back, so GPU2 gets work before GPU0 again.
    const sweep = simulateSweep(oneBatch([node('rig', 3, 1, { maxConcurrent: 2 })], 5), ids(5), { trialSeconds: 2 });
    expect(column(sweep, 'start')).toEqual([0, 1, 2, 3, 4]);
    expect(column(sweep, 'gpu')).toEqual([0, 1, 2, 0, 1]);
    expect(sweep.makespan).toBe(6);
  });

  it('lets nodes without stagger take turns, the earlier-listed first', () => {
    const sweep = simulateSweep(oneBatch([node('a', 2, 0), node('b', 2, 0)], 5), ids(5), { trialSeconds: (i) => (i === 0 ? 1 : 5) });
    expect(sweep.jobs.map(({ node, gpu, start }) => `${node}:${gpu}@${start}`)).toEqual(['a:0@0', 'b:0@0', 'a:1@0', 'b:1@0', 'a:0@1']);
  });

  it("makes the batch wait out a node's last stagger, as feedNode sleeps while the batch runs", () => {
    const plan: SimulationPlan = {
      nodes: [node('rig', 1, 5)],
      batches: [
        { index: 0, start: 0, end: 1 },
        { index: 1, start: 1, end: 2 },
      ],
      perNodeCap: 1,
      cooldownSeconds: 0,
      resetBetweenBatches: false,
    };
    const sweep = simulateSweep(plan, ids(2), { trialSeconds: 1 });
    expect(sweep.batches.map(({ start, end }) => [start, end])).toEqual([
      [0, 5],
      [5, 10],
    ]);
  });

  it("plans the user's cluster: 100 trials of 2.8 s in 5 batches of 20, 1m 24s", () => {
    const sweep = simulateSweep(userCluster(), ids(100), { trialSeconds: 2.8 });
    // Every batch: localhost starts at +0, +3, +6, +9 and the rigs every 2 s up to +10, where the
    // sixth job of the first rig ends at +12.8; then 5 s of cooldown.
    expect(sweep.batches.map((batch) => batch.start)).toEqual([0, 17.8, 35.6, 53.4, 71.2]);
    expect(sweep.makespan).toBe(84);
    expect(sweep.jobs.filter((job) => job.batch === 1).map((job) => job.start)).toEqual([0, 0, 0, 0, 2, 2, 2, 3, 4, 4, 4, 6, 6, 6, 6, 8, 8, 8, 9, 10]);
    expectDispatchRules(userCluster(), sweep);
  });

  it('keeps every dispatch rule for any cluster, batching and trial times', () => {
    const nodeArb = fc.record({ gpus: fc.integer({ min: 1, max: 8 }), lanes: fc.integer({ min: 1, max: 8 }), stagger: fc.integer({ min: 0, max: 4000 }) });
    fc.assert(
      fc.property(
        fc.array(nodeArb, { minLength: 1, maxLength: 4 }),
        fc.integer({ min: 1, max: 80 }),
        fc.record({ perBatch: fc.integer({ min: 1, max: 25 }), perNode: fc.integer({ min: 1, max: 8 }), cooldown: fc.integer({ min: 0, max: 6 }) }),
        fc.array(fc.integer({ min: 1, max: 9000 }), { minLength: 1, maxLength: 10 }),
        (specs, jobCount, batching, trialMs) => {
          const nodes = specs.map((spec, i) => node(`n${i}`, spec.gpus, spec.stagger / 1000, { maxConcurrent: Math.min(spec.gpus, spec.lanes) }));
          const batchPlan = planBatches(jobCount, nodes.length, jobBatchingSchema.parse({ max_jobs_per_batch: batching.perBatch, max_jobs_per_node_per_batch: batching.perNode, inter_batch_cooldown_seconds: batching.cooldown }));
          const plan = { ...batchPlan, nodes };
          expectDispatchRules(plan, simulateSweep(plan, ids(jobCount), { trialSeconds: (i) => trialMs[i % trialMs.length] / 1000 }));
        },
      ),
      { numRuns: 200 },
    );
  });

  it('refuses what the dispatcher could never finish', () => {
    const capped: SimulationPlan = { ...oneBatch([node('a', 1, 0)], 3), perNodeCap: 2 };
    expect(() => simulateSweep(capped, ids(3), { trialSeconds: 1 })).toThrow(/batch 1 leaves 1 jobs unstarted/);
    expect(() => simulateSweep(oneBatch([node('a', 1, 0)], 3), ids(2), { trialSeconds: 1 })).toThrow(/2 job ids for batches that cover 3 jobs/);
    expect(() => simulateSweep(oneBatch([node('a', 1, 0)], 1), ids(1), { trialSeconds: -1 })).toThrow(/finite number ≥ 0/);
  });
});

/** localhost with 2 GPUs (stagger 3) and three 8-GPU rigs (stagger 2), with the seed's batching. */
function userCluster(): SimulationPlan {
  const nodes = [
    { hostname: 'localhost', gpu_count: 2, script_path: '~/w', stagger_delay: 3 },
    ...['192.168.3.120', '192.168.3.154', '192.168.3.162'].map((hostname) => ({ hostname, gpu_count: 8, script_path: '~/w', python_env: '~/rocm_env/bin/python', stagger_delay: 2 })),
  ].map((entry) => toSweepNode(nodeConfigSchema.parse(entry)));
  return { ...planBatches(100, nodes.length, jobBatchingSchema.parse({})), nodes };
}

/** The rules a user checks on a real run: spacing, lanes, GPUs, caps, barriers and cooldowns. */
function expectDispatchRules(plan: SimulationPlan, sweep: SimulatedSweep): void {
  const eps = 1e-9;
  const total = plan.batches.at(-1)?.end ?? 0;
  expect(sweep.jobs.map((job) => job.jobId)).toEqual(ids(total));
  for (const batch of plan.batches) {
    for (const job of sweep.jobs.slice(batch.start, batch.end)) expect(job.batch).toBe(batch.index + 1);
  }
  for (const n of plan.nodes) {
    const mine = sweep.jobs.filter((job) => job.node === n.name);
    const starts = mine.map((job) => job.start).sort((x, y) => x - y);
    // Across batches too: the barrier waits for every node's last stagger.
    for (let i = 1; i < starts.length; i++) expect(starts[i] - starts[i - 1]).toBeGreaterThanOrEqual(n.staggerSeconds - eps);
    for (const job of mine) {
      const overlapping = mine.filter((other) => other.start <= job.start && job.start < other.end);
      expect(overlapping.length).toBeLessThanOrEqual(n.maxConcurrent);
      expect(overlapping.filter((other) => other.gpu === job.gpu)).toHaveLength(1);
      expect(job.gpu).toBeLessThan(n.gpuCount);
    }
    for (const batch of sweep.batches) {
      expect(mine.filter((job) => job.batch === batch.batch).length).toBeLessThanOrEqual(plan.perNodeCap ?? Infinity);
    }
  }
  sweep.batches.forEach((batch, i) => {
    const jobs = sweep.jobs.filter((job) => job.batch === batch.batch);
    expect(Math.min(...jobs.map((job) => job.start))).toBe(batch.start);
    expect(Math.max(...jobs.map((job) => job.end))).toBeLessThanOrEqual(batch.end);
    if (i > 0) expect(batch.start - sweep.batches[i - 1].end).toBeGreaterThanOrEqual(plan.cooldownSeconds - eps);
  });
  expect(sweep.makespan).toBe(sweep.batches.at(-1)?.end ?? 0);
}
