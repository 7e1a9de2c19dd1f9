/**
 * Rolling batches on the real stack: each node runs its per-batch cap, drains, is reset (rigs)
 * and cools down on its own while the others keep working — every rule read back from what the
 * rigs recorded and from the stand-in sudo's call log.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { TimelineEntry } from '../../src/shared/timeline';
import { readCalls, type TestRigs } from '../harness/rigs';
import { recordHistory, runCli, type CliEnv, type CliRun, sweepArgs } from '../harness/cli';
import { collectRuns, maxOverlap, startTestCluster, writeJobs, writeUserConfig, type NodeUnderTest, type TrialRun } from '../harness/sweep-fixture';

const CAP = 3;
const AT_ONCE = 6;
const COOLDOWN = 1;
const STAGGER = 0.2;
const JOBS = 24;
// Process start times come in 10 ms clock ticks, so two starts can look up to one tick closer.
const TICK = 0.011;

let rigs: TestRigs;
let env: CliEnv;
let work: string;
let nodes: NodeUnderTest[];
let run: CliRun;
let runs: TrialRun[];

beforeAll(async () => {
  const cluster = await startTestCluster('rolling', inject('temporalAddress'), { rigCount: 2, localGpus: 2, rigGpus: 3, stagger: STAGGER });
  ({ work, rigs, env, nodes } = cluster);
  const config = writeUserConfig(work, 'distributed_config.json', {
    nodes: cluster.configNodes,
    job_batching: {
      mode: 'rolling',
      max_jobs_per_batch: AT_ONCE,
      max_jobs_per_node_per_batch: CAP,
      inter_batch_cooldown_seconds: COOLDOWN,
      allocator_reset_between_batches: true,
    },
  });
  const jobs = Array.from({ length: JOBS }, (_, i) => ({
    job_id: `roll_${i}`,
    script: 'fake_trial.py',
    // Every fourth job is slow, so the nodes fall out of step and rolling has something to win.
    args: ['--job', `roll_${i}`, '--sleep', i % 4 === 0 ? '1.5' : '0.4', '--output', `out/roll_${i}.json`],
    expected_output: `out/roll_${i}.json`,
  }));
  run = await runCli(sweepArgs('run', writeJobs(work, 'rolling_jobs.json', jobs), config, join(work, 'out')), env);
  runs = collectRuns(nodes).filter((r) => r.jobId.startsWith('roll_'));
  await recordHistory(env, run.results!.workflow_id, 'rolling-24-jobs');
});

afterAll(async () => {
  await rigs?.stop();
});

/** A node's runs in start order, cut into its cycles of CAP jobs. */
function cyclesOf(node: string): TrialRun[][] {
  const own = runs.filter((r) => r.node === node).sort((a, b) => a.start - b.start);
  return Array.from({ length: Math.ceil(own.length / CAP) }, (_, k) => own.slice(k * CAP, (k + 1) * CAP));
}

describe('a rolling sweep', () => {
  it('runs every job once and succeeds', () => {
    expect(run.exitCode, run.stderr).toBe(0);
    expect(run.results).toMatchObject({ status: 'complete', successful: JOBS, failed: 0 });
    expect(runs.map((r) => r.jobId).sort()).toEqual(Array.from({ length: JOBS }, (_, i) => `roll_${i}`).sort());
  });

  it('never runs more than max_jobs_per_batch at once, nor more per node than its GPUs, one job per GPU', () => {
    expect(maxOverlap(runs)).toBeLessThanOrEqual(AT_ONCE);
    for (const node of nodes) {
      const own = runs.filter((r) => r.node === node.name);
      expect(maxOverlap(own)).toBeLessThanOrEqual(node.maxConcurrent);
      for (let gpu = 0; gpu < node.gpuCount; gpu++) expect(maxOverlap(own.filter((r) => r.gpu === gpu))).toBeLessThanOrEqual(1);
      const starts = own.map((r) => r.start).sort((a, b) => a - b);
      for (let i = 1; i < starts.length; i++) expect(starts[i] - starts[i - 1]).toBeGreaterThanOrEqual(STAGGER - TICK);
    }
  });

  it('gives each node its own rhythm: cap jobs, drain, reset (rigs), cool down', () => {
    for (const node of nodes) {
      const cycles = cyclesOf(node.name);
      const resets = rigs.rigs.find((rig) => rig.address === node.name);
      const sudo = resets
        ? readCalls(resets.callsLog)
            .filter((c) => c.tool === 'sudo')
            .map((c) => c.t)
        : [];
      for (let k = 1; k < cycles.length; k++) {
        const drained = Math.max(...cycles[k - 1].map((r) => r.end));
        const next = cycles[k][0].start;
        expect(next - drained, `${node.name} cycle ${k + 1}`).toBeGreaterThanOrEqual(COOLDOWN - TICK);
        if (resets)
          expect(
            sudo.filter((t) => t >= drained && t <= next),
            `${node.name} reset before cycle ${k + 1}`,
          ).toHaveLength(1);
      }
      // Never a reset while a trial runs there. A node that drained its cap while jobs still waited
      // resets even if the other nodes then take those jobs: one more reset after its last cycle at most.
      for (const t of sudo)
        expect(
          runs.filter((r) => r.node === node.name && r.start < t && r.end > t),
          `${node.name} reset at ${t}`,
        ).toEqual([]);
      expect(sudo.length).toBeGreaterThanOrEqual(resets ? cycles.length - 1 : 0);
      expect(sudo.length).toBeLessThanOrEqual(resets ? cycles.length : 0); // localhost is never reset
    }
  });

  it('keeps the other nodes working while one cools down (no cluster-wide barrier)', () => {
    const coolingGaps = nodes.flatMap((node) => {
      const cycles = cyclesOf(node.name);
      return cycles.slice(1).map((cycle, k) => ({ node: node.name, from: Math.max(...cycles[k].map((r) => r.end)), to: cycle[0].start }));
    });
    const startsDuringAnothersCooldown = coolingGaps.filter((gap) => runs.some((r) => r.node !== gap.node && r.start > gap.from && r.start < gap.to));
    expect(startsDuringAnothersCooldown.length).toBeGreaterThan(0);
  });

  it("writes each node's cooldown to the timeline and says it in the seed-style lines", () => {
    const timeline = readFileSync(join(run.results!.output_dir, 'timeline.jsonl'), 'utf8')
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as TimelineEntry);
    const cooldowns = timeline.filter((entry) => entry.kind === 'cooldown');
    expect(cooldowns.length).toBeGreaterThan(0);
    expect(cooldowns.every((entry) => nodes.some((node) => node.name === entry.node))).toBe(true);
    expect(run.stdout).toMatch(/^\[COOLDOWN\] (localhost|10\.231\.0\.1[12]): 1s$/m);
  });
});
