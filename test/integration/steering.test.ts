/**
 * Steering a running sweep as an operator does: a pause sent with the `temporal` CLI, new numbers
 * and excluded nodes/GPUs from `rigsweep set|exclude`, a bad value rejected, then resume — and
 * what the rigs recorded afterwards obeys every change. Temporal Web's filters (search
 * attributes) and memo are read back with the `temporal` CLI.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { TimelineEntry } from '../../src/shared/timeline';
import type { TestRigs } from '../harness/rigs';
import { listWorkflows, recordHistory, runCli, startWorkerProcess, temporalCli, type CliEnv, sweepResult, sweepArgs } from '../harness/cli';
import { clusterNodes, collectRuns, writeJobs, writeUserConfig, type NodeUnderTest, startTestCluster, waitUntil, runFolder } from '../harness/sweep-fixture';

let rigs: TestRigs;
let env: CliEnv;
let work: string;
let nodes: NodeUnderTest[];
let worker: Awaited<ReturnType<typeof startWorkerProcess>>;
let config: string;

const JOBS = 18;
const jobs = Array.from({ length: JOBS }, (_, i) => ({
  job_id: `steer_${String(i).padStart(2, '0')}`,
  script: 'fake_trial.py',
  args: ['--job', `steer_${String(i).padStart(2, '0')}`, '--sleep', '0.8', '--output', `out/steer_${i}.json`],
  expected_output: `out/steer_${i}.json`,
}));

beforeAll(async () => {
  const cluster = await startTestCluster('steer', inject('temporalAddress'), { rigCount: 2, localGpus: 2, rigGpus: 2, stagger: 0.1 });
  ({ work, rigs, env, nodes } = cluster);
  config = writeUserConfig(work, 'steer_config.json', {
    nodes: cluster.configNodes,
    job_batching: { max_jobs_per_batch: 6, max_jobs_per_node_per_batch: 2, inter_batch_cooldown_seconds: 0.5 },
  });
  worker = await startWorkerProcess(config, env, work);
});

afterAll(async () => {
  await worker?.stop();
  await rigs?.stop();
});

describe('a sweep steered while it runs', () => {
  it('pauses after its batch, takes new numbers and exclusions, rejects bad ones, resumes and obeys them', async () => {
    const started = await runCli(sweepArgs('start', writeJobs(work, 'steer_jobs.json', jobs), config, join(work, 'out')), env);
    expect(started.exitCode, started.stderr).toBe(0);
    const id = started.stdout.trim();
    const runs = () => collectRuns(nodes).filter((run) => run.jobId.startsWith('steer_'));
    await waitUntil('the first job to start', () => runs().length > 0);

    const paused = await temporalCli(['workflow', 'signal', '--workflow-id', id, '--name', 'pause'], env);
    expect(paused.exitCode, paused.stderr).toBe(0);
    let status = '';
    await waitUntil('the sweep to pause after its batch', async () => {
      status = (await runCli(['status', id], env)).stdout;
      return status.includes(', paused,');
    });
    const pausedAt = Date.now() / 1000;

    const rejected = await temporalCli(['workflow', 'update', 'execute', '--workflow-id', id, '--name', 'set', '--input', '{"max_jobs_per_batch": 0}'], env);
    expect(rejected.exitCode).not.toBe(0);
    expect(rejected.stdout + rejected.stderr).toContain('max_jobs_per_batch: must be a whole number ≥ 1 (got 0)');
    const unknownNode = await runCli(['exclude', id, '10.9.9.9'], env);
    expect(unknownNode.exitCode).toBe(2);
    expect(unknownNode.stderr).toContain('node: "10.9.9.9" is not a node of this sweep');

    const set = await runCli(['set', id, '--max-jobs-per-batch', '3', '--cooldown', '0.2'], env);
    expect(set.exitCode, set.stderr).toBe(0);
    expect(JSON.parse(set.stdout.slice(set.stdout.indexOf('{')))).toMatchObject({
      max_jobs_per_batch: 3,
      max_jobs_per_node_per_batch: 2,
      inter_batch_cooldown_seconds: 0.2,
    });
    const [rigA, rigB] = rigs.rigs.map((rig) => rig.address);
    expect((await runCli(['exclude', id, rigB], env)).exitCode).toBe(0);
    expect((await runCli(['exclude', id, 'localhost', '--gpu', '0'], env)).exitCode).toBe(0);
    const statusWhilePaused = (await runCli(['status', id], env)).stdout;
    expect(statusWhilePaused).toContain(`  ${rigB}: excluded,`);
    expect(statusWhilePaused).toMatch(/ {2}localhost: ok, 0\/2 GPUs busy, \d+ done, 0 failed, excluded GPUs 0/);

    await new Promise((resolve) => setTimeout(resolve, 1500));
    const resumedAt = Date.now() / 1000;
    expect(runs().filter((run) => run.start > pausedAt)).toEqual([]); // nothing started while paused
    const resumed = await temporalCli(['workflow', 'signal', '--workflow-id', id, '--name', 'resume'], env);
    expect(resumed.exitCode, resumed.stderr).toBe(0);

    const results = await sweepResult(env, id);
    expect(results).toMatchObject({ status: 'complete', successful: JOBS, failed: 0 });
    await recordHistory(env, id, 'steered-pause-set-exclude-resume');

    const all = runs();
    expect(new Set(all.map((run) => run.jobId)).size).toBe(JOBS);
    expect(all).toHaveLength(JOBS); // each job ran once
    const after = all.filter((run) => run.start > resumedAt);
    expect(after.length).toBeGreaterThan(0);
    expect(after.filter((run) => run.node === rigB)).toEqual([]);
    expect(after.filter((run) => run.node === 'localhost' && run.gpu === 0)).toEqual([]);
    expect(after.some((run) => run.node === rigA)).toBe(true);
    const batchOf = new Map<string, number>(results.jobs.map((job) => [job.job_id, job.batch]));
    const laterBatches = new Set(after.map((run) => batchOf.get(run.jobId)!));
    for (const batch of laterBatches) expect(results.jobs.filter((job) => job.batch === batch).length).toBeLessThanOrEqual(3);

    const timeline = readFileSync(join(runFolder(join(work, 'out'), id), 'timeline.jsonl'), 'utf8')
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as TimelineEntry);
    const pause = timeline.find((entry) => entry.kind === 'pause');
    expect(pause!.end_ms - pause!.start_ms).toBeGreaterThanOrEqual(1500);
    expect(timeline.filter((entry) => entry.kind === 'batch').length).toBe(results.batches);

    const listed = await listWorkflows(env, `RigsweepSweep = "steer_jobs" AND RigsweepDone = ${JOBS} AND RigsweepFailed = 0`, (workflows) =>
      workflows.some((w) => w.execution.workflowId === id),
    );
    expect(listed.map((w) => w.execution.workflowId)).toContain(id);
    const described = await temporalCli(['workflow', 'describe', '--workflow-id', id, '--output', 'json'], env);
    expect(described.stdout).toContain('config_digest');
  });

  it('moves the share of a node excluded mid-batch to the next batch, within every per-node cap', async () => {
    // Rig B spaces its starts by 5 s: its second job is still to come when the exclusion arrives.
    const cluster = clusterNodes(rigs, { localGpus: 2, rigGpus: 2, stagger: 0.3 });
    const slowStarts = writeUserConfig(work, 'steer_mid_batch.json', {
      nodes: cluster.configNodes.map((node) => (node.hostname === rigs.rigs[1].address ? { ...node, stagger_delay: 5 } : node)),
      job_batching: { max_jobs_per_batch: 6, max_jobs_per_node_per_batch: 2, inter_batch_cooldown_seconds: 0.2 },
    });
    const midJobs = jobs.slice(0, 12).map((job) => JSON.parse(JSON.stringify(job).replaceAll('steer_', 'mid_')) as typeof job);
    const started = await runCli(sweepArgs('start', writeJobs(work, 'mid_jobs.json', midJobs), slowStarts, join(work, 'out')), env);
    expect(started.exitCode, started.stderr).toBe(0);
    const id = started.stdout.trim();
    const rigB = rigs.rigs[1].address;
    const runs = () => collectRuns(nodes).filter((run) => run.jobId.startsWith('mid_'));
    await waitUntil('a first job on the rig', () => runs().some((run) => run.node === rigB));
    const excluded = await runCli(['exclude', id, rigB], env);
    expect(excluded.exitCode, excluded.stderr).toBe(0);
    const excludedAt = Date.now() / 1000;

    const results = await sweepResult(env, id);
    expect(results).toMatchObject({ status: 'complete', successful: 12 });
    await recordHistory(env, id, 'node-excluded-mid-batch');
    const all = runs();
    expect(all).toHaveLength(12);
    expect(all.filter((run) => run.node === rigB && run.start > excludedAt)).toEqual([]);
    const onRigB = all.filter((run) => run.node === rigB).length;
    expect(onRigB).toBe(1); // its second start was 5 s away when the exclusion came
    const perNodeAndBatch = new Map<string, number>();
    for (const job of results.jobs) perNodeAndBatch.set(`${job.node}#${job.batch}`, (perNodeAndBatch.get(`${job.node}#${job.batch}`) ?? 0) + 1);
    expect(Math.max(...perNodeAndBatch.values())).toBeLessThanOrEqual(2);
    expect(results.jobs.filter((job) => job.batch === 1)).toHaveLength(5); // rig B's second job moved on
  });
});
