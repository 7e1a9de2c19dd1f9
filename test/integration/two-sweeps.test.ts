/**
 * Two sweeps on the same rig at once — a WATCHER sweep and a benchmark, say. Each keeps its own
 * rules; together they must not add up to a freeze: the rig's rules hold across both, read back
 * from what the rig recorded. One trial per GPU, no more than max_concurrent_script_jobs at once,
 * starts spaced by the stagger, and no start during either sweep's reset and cooldown.
 */
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { readCalls, type TestRigs } from '../harness/rigs';
import { recordHistory, runCli, startWorkerProcess, sweepResult, type CliEnv } from '../harness/cli';
import { collectRuns, maxOverlap, startTestCluster, writeJobs, writeUserConfig, type NodeUnderTest, type TrialRun } from '../harness/sweep-fixture';

const STAGGER = 1.2;
const COOLDOWN = 3;
/** A trial records its start after Python's start-up; starts are compared with this much slack. */
const STARTUP_SLACK = 0.3;

let rigs: TestRigs;
let env: CliEnv;
let work: string;
let rig: NodeUnderTest;
let config: string;

beforeAll(async () => {
  const cluster = await startTestCluster('two-sweeps', inject('temporalAddress'), { rigCount: 1, rigGpus: 3, rigMaxConcurrent: [2], stagger: STAGGER });
  ({ work, rigs, env } = cluster);
  rig = cluster.nodes[1];
  config = writeUserConfig(work, 'distributed_config.json', {
    nodes: [cluster.configNodes[1]],
    job_batching: { max_jobs_per_batch: 3, max_jobs_per_node_per_batch: 2, inter_batch_cooldown_seconds: COOLDOWN },
    preflight: { enabled: false },
  });
});

afterAll(async () => {
  await rigs?.stop();
});

const jobsOf = (sweep: string) =>
  Array.from({ length: 4 }, (_, i) => ({
    job_id: `${sweep}${i}`,
    script: 'fake_trial.py',
    args: ['--job', `${sweep}${i}`, '--sleep', '2.5', '--output', `out/${sweep}${i}.json`],
    expected_output: `out/${sweep}${i}.json`,
  }));

/** Runs with their start at the trial's own first record (after its node gave it the permit). */
const trialStarts = (runs: TrialRun[]) => runs.map((run) => ({ ...run, start: run.startRecord.t }));

describe('two sweeps on the same rig at once', () => {
  it("keep the rig's rules across both: one job per GPU, its concurrency, start spacing, reset and cooldown", async () => {
    const worker = await startWorkerProcess(config, env, work);
    try {
      const [first, second] = await Promise.all(
        ['watcher', 'bench'].map((sweep) =>
          runCli(
            [
              'start',
              '--workflow-id',
              `two-sweeps-${sweep}`,
              '--jobs-file',
              writeJobs(work, `${sweep}.json`, jobsOf(sweep)),
              '--preserve-paths',
              '--config',
              config,
              '--output-dir',
              join(work, 'out'),
            ],
            env,
          ),
        ),
      );
      expect(first.exitCode, first.stderr).toBe(0);
      expect(second.exitCode, second.stderr).toBe(0);
      const results = await Promise.all([sweepResult(env, 'two-sweeps-watcher'), sweepResult(env, 'two-sweeps-bench')]);
      await recordHistory(env, 'two-sweeps-watcher', 'staggered-starts-timed-from-start');
      for (const result of results) expect(result).toMatchObject({ status: 'complete', successful: 4, failed: 0 });
    } finally {
      await worker.stop();
    }

    const runs = trialStarts(collectRuns([rig]));
    expect(new Set(runs.map((run) => run.jobId)).size).toBe(8);
    expect(runs).toHaveLength(8); // each job once
    // Both sweeps did run side by side: a trial of one overlaps a trial of the other.
    const overlapsAcross = runs.some((a) => runs.some((b) => a.jobId[0] !== b.jobId[0] && a.start < b.end && b.start < a.end));
    expect(overlapsAcross).toBe(true);

    for (const gpu of [0, 1, 2]) expect(maxOverlap(runs.filter((run) => run.gpu === gpu)), `GPU ${gpu}`).toBeLessThanOrEqual(1);
    expect(maxOverlap(runs)).toBeLessThanOrEqual(rig.maxConcurrent);

    const starts = runs.map((run) => run.start).sort((a, b) => a - b);
    const gaps = starts.slice(1).map((start, i) => start - starts[i]);
    expect(Math.min(...gaps)).toBeGreaterThanOrEqual(STAGGER - STARTUP_SLACK);

    const resets = readCalls(rigs.rigs[0].callsLog)
      .filter((call) => call.tool === 'sudo')
      .map((call) => call.t);
    expect(resets.length).toBeGreaterThanOrEqual(2); // each sweep reset the rig between its batches
    for (const reset of resets) {
      const during = starts.filter((start) => start > reset + STARTUP_SLACK && start < reset + COOLDOWN);
      expect(during, `starts within ${COOLDOWN} s after the reset at ${reset}`).toEqual([]);
    }
  });
});
