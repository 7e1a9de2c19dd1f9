/**
 * A sweep longer than one workflow run should hold: it continues as new between batches, so every
 * run's history stays small, while one logical sweep keeps its progress, results and steering —
 * no job lost or run twice across the hand-overs, read back from the rigs' records.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { JobResult } from '../../src/shared/results';
import { readJson } from '../harness/read-json';
import type { TestRigs } from '../harness/rigs';
import { listWorkflows, recordHistory, runChain, runCli, startWorkerProcess, temporalCli, type CliEnv, sweepResult } from '../harness/cli';
import { collectRuns, startTestCluster, writeJobs, writeUserConfig, type NodeUnderTest, runFolder } from '../harness/sweep-fixture';

const JOBS = 40;
const EVENTS_PER_RUN = 120;

let rigs: TestRigs;
let env: CliEnv;
let work: string;
let nodes: NodeUnderTest[];
let worker: Awaited<ReturnType<typeof startWorkerProcess>>;
let config: string;

beforeAll(async () => {
  const cluster = await startTestCluster('long', inject('temporalAddress'), { rigCount: 1, localGpus: 2, rigGpus: 2, stagger: 0 });
  ({ work, rigs, env, nodes } = cluster);
  config = writeUserConfig(work, 'distributed_config.json', {
    nodes: cluster.configNodes,
    job_batching: { max_jobs_per_batch: 4, max_jobs_per_node_per_batch: 2, inter_batch_cooldown_seconds: 0.2, allocator_reset_between_batches: true },
  });
  worker = await startWorkerProcess(config, env, work);
});

afterAll(async () => {
  await worker?.stop();
  await rigs?.stop();
});

describe('a sweep that continues as new', () => {
  it('runs every job exactly once over several small runs, followed by one watch and one result', async () => {
    const jobs = Array.from({ length: JOBS }, (_, i) => ({
      job_id: `long_${String(i).padStart(2, '0')}`,
      script: 'fake_trial.py',
      args: ['--job', `long_${String(i).padStart(2, '0')}`, '--sleep', '0.1', '--output', `out/long_${i}.json`],
      expected_output: `out/long_${i}.json`,
    }));
    const input = {
      jobsFile: writeJobs(work, 'long_jobs.json', jobs),
      configFile: config,
      outputDir: join(work, 'out'),
      preservePaths: true,
      continueAsNewAfterEvents: EVENTS_PER_RUN,
    };
    const id = 'long-sweep';
    const started = await temporalCli(
      ['workflow', 'start', '--type', 'trialSweep', '--task-queue', env.taskQueue, '--workflow-id', id, '--input', JSON.stringify(input)],
      env,
    );
    expect(started.exitCode, started.stderr).toBe(0);

    const watched = await runCli(['watch', id, '--plain'], env);
    expect(watched.exitCode, watched.stderr).toBe(0);
    const results = await sweepResult(env, id);
    expect(results).toMatchObject({ status: 'complete', total_jobs: JOBS, successful: JOBS, failed: 0, batches: 10, jobs_omitted: 0 });

    // Every job once on the rigs, in results.jsonl, and on the follower's screen.
    const runs = collectRuns(nodes).filter((r) => r.jobId.startsWith('long_'));
    expect(runs.map((r) => r.jobId).sort()).toEqual(jobs.map((j) => j.job_id));
    const records = readFileSync(join(runFolder(join(work, 'out'), id), 'results.jsonl'), 'utf8')
      .trim()
      .split('\n')
      .map((line) => (JSON.parse(line) as JobResult).job_id);
    expect(records.sort()).toEqual(jobs.map((j) => j.job_id));
    const shown = [...watched.stdout.matchAll(/✓ (long_\d+)/g)].map((m) => m[1]);
    expect(new Set(shown).size).toBe(JOBS);
    for (let batch = 1; batch <= 10; batch++) expect(watched.stdout).toContain(`[BATCH ${batch}] Complete: 4/4 successful`);

    // Several runs, each with a small history; the sweep's search attributes and memo carried on.
    const chain = await runChain(env, id);
    expect(chain.length).toBeGreaterThanOrEqual(3);
    expect(chain.map((run) => run.closedBy)).toEqual([...chain.slice(1).map(() => 'continued-as-new'), 'completed']);
    for (const run of chain) expect(run.events).toBeLessThan(EVENTS_PER_RUN + 150);
    const latest = await listWorkflows(env, `WorkflowId = "${id}" AND RigsweepDone = ${JOBS} AND RigsweepSweep = "long_jobs"`, (listed) => listed.length > 0);
    expect(latest.map((workflow) => workflow.execution.runId)).toEqual([chain.at(-1)!.runId]);

    await recordHistory(env, id, 'continued-as-new-first-run', chain[0].runId);
    await recordHistory(env, id, 'continued-as-new-middle-run', chain[1].runId);
  });

  it('grows an unbatched segment instead of draining every 100 jobs, shows the sweep as its one batch, and hands over only when the run is due', async () => {
    const count = 400;
    // A job costs at least 4 events (its activity's three and its start signal) and, measured,
    // rarely more than 10: the run is not yet due at its first growth (~96 jobs dispatched) and is
    // due by its third (~296, at least 1,168 events) at the latest, so it grows, then hands over.
    // When exactly it does depends on how the worker's tasks batch events, so the checks below
    // hold for any such point.
    const threshold = 1100;
    // The last job of the first 100 runs 4 s, the others 0.1 s: if the segment grows, the next
    // jobs start on the other GPUs while it runs; if it drained, they would wait for its end.
    const lastOfFirstSegment = 99;
    const jobs = Array.from({ length: count }, (_, i) => ({
      job_id: `grow_${String(i).padStart(3, '0')}`,
      script: 'fake_trial.py',
      args: ['--job', `grow_${String(i).padStart(3, '0')}`, '--sleep', i === lastOfFirstSegment ? '4' : '0.1', '--output', `out/grow_${i}.json`],
      expected_output: `out/grow_${i}.json`,
    }));
    const unbatched = writeUserConfig(work, 'unbatched_config.json', { ...readJson<Record<string, unknown>>(config), job_batching: { enabled: false } });
    const input = {
      jobsFile: writeJobs(work, 'grow_jobs.json', jobs),
      configFile: unbatched,
      outputDir: join(work, 'out'),
      preservePaths: true,
      continueAsNewAfterEvents: threshold,
    };
    const id = 'growing-segments';
    const started = await temporalCli(
      ['workflow', 'start', '--type', 'trialSweep', '--task-queue', env.taskQueue, '--workflow-id', id, '--input', JSON.stringify(input)],
      env,
    );
    expect(started.exitCode, started.stderr).toBe(0);
    const watched = await runCli(['watch', id, '--plain'], env);
    const results = await sweepResult(env, id);
    expect(results).toMatchObject({ status: 'complete', total_jobs: count, successful: count, failed: 0 });
    // A sweep without batches is one batch to its users, whatever its internal segments.
    expect(results.batches).toBe(1);
    expect(watched.stdout).toContain(`[BATCH 1/1] ${count} jobs`);
    expect(watched.stdout).toContain(`[BATCH 1] Complete: ${count}/${count} successful`);
    expect(watched.stdout).not.toMatch(/\[BATCH (\d+\/(?!1\b)|[2-9])/);
    expect((await runCli(['status', id], env)).stdout).toContain(`${id}: COMPLETED, done, batch 1/1, ${count}/${count} done`);

    const runs = collectRuns(nodes).filter((r) => r.jobId.startsWith('grow_'));
    expect(runs.map((r) => r.jobId).sort()).toEqual(jobs.map((j) => j.job_id));
    // Grown, not drained: the 101st job started while the last of the first 100 still ran.
    const firstOfNextSegment = runs.find((r) => r.jobId === 'grow_100')!.start;
    expect(runs.find((r) => r.jobId === `grow_${String(lastOfFirstSegment).padStart(3, '0')}`)!.end).toBeGreaterThan(firstOfNextSegment);
    const records = readFileSync(join(runFolder(join(work, 'out'), id), 'results.jsonl'), 'utf8')
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as JobResult);
    expect(records.map((record) => record.job_id).sort()).toEqual(jobs.map((j) => j.job_id));
    expect(new Set(records.map((record) => record.batch))).toEqual(new Set([1]));
    const chain = await runChain(env, id);
    expect(chain.length).toBeGreaterThanOrEqual(2);
    expect(chain.map((run) => run.closedBy)).toEqual([...chain.slice(1).map(() => 'continued-as-new'), 'completed']);
    // A run hands over only once it is due, and growth stops then: at most one more segment of
    // 100 jobs past the threshold.
    for (const run of chain.slice(0, -1)) expect(run.events).toBeGreaterThanOrEqual(threshold);
    for (const run of chain) expect(run.events).toBeLessThan(threshold + 1100);
  });
});
