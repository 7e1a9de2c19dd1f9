/**
 * Standby jobs on unstaggered nodes: a busy GPU's next job is dispatched ahead and waits on the
 * node for the GPU's lock, so it starts as the running trial exits — never beside it. An operator
 * who excludes the node meanwhile gets the waiting job withdrawn and run elsewhere, as the same
 * attempt. Read back from what the rigs recorded.
 */
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { liveTrialProcesses } from '../harness/chaos-report';
import type { TestRigs } from '../harness/rigs';
import { recordHistory, runCli, startWorkerProcess, sweepResult, temporalCli, type CliEnv, sweepArgs } from '../harness/cli';
import {
  collectRuns,
  jobsWaitingForPermit,
  startTestCluster,
  waitUntil,
  writeJobs,
  writeUserConfig,
  type NodeUnderTest,
  type TrialRun,
} from '../harness/sweep-fixture';

let rigs: TestRigs;
let env: CliEnv;
let work: string;
let nodes: NodeUnderTest[];
let config: string;
let rigScriptPath: string;

/** `temporal workflow show --output json`, as far as this test reads it: payload data is base64 JSON. */
interface ShownHistory {
  events: { activityTaskScheduledEventAttributes?: { activityType?: { name: string }; input: { payloads: { data: string }[] } } }[];
}

beforeAll(async () => {
  const cluster = await startTestCluster('standby', inject('temporalAddress'), { rigCount: 1, localGpus: 1, rigGpus: 1, stagger: 0 });
  ({ work, rigs, env, nodes } = cluster);
  rigScriptPath = rigs.rigs[0].scriptPath;
  config = writeUserConfig(work, 'distributed_config.json', { nodes: cluster.configNodes, job_batching: { enabled: false }, preflight: { enabled: false } });
});

afterAll(async () => {
  await rigs?.stop();
});

const jobsOf = (prefix: string, count: number, seconds: number) =>
  Array.from({ length: count }, (_, i) => ({
    job_id: `${prefix}${i}`,
    script: 'fake_trial.py',
    args: ['--job', `${prefix}${i}`, '--sleep', String(seconds), '--output', `out/${prefix}${i}.json`],
    expected_output: `out/${prefix}${i}.json`,
  }));

/** Each GPU's trials in the order they started. */
function lanes(runs: TrialRun[]): TrialRun[][] {
  const byGpu = new Map<string, TrialRun[]>();
  for (const run of runs) byGpu.set(`${run.node}/${run.gpu}`, [...(byGpu.get(`${run.node}/${run.gpu}`) ?? []), run]);
  return [...byGpu.values()].map((lane) => lane.sort((a, b) => a.start - b.start));
}

/** Starts `count` jobs of `seconds` as a sweep (a worker must poll); `runs` reads back their trials. */
async function startSweep(prefix: string, count: number, seconds: number): Promise<{ id: string; runs: () => TrialRun[] }> {
  const started = await runCli(sweepArgs('start', writeJobs(work, `${prefix}.json`, jobsOf(prefix, count, seconds)), config, join(work, 'out')), env);
  expect(started.exitCode, started.stderr).toBe(0);
  return { id: started.stdout.trim(), runs: () => collectRuns(nodes).filter((r) => r.jobId.startsWith(prefix)) };
}

describe('standby jobs on GPUs without a stagger', () => {
  it('wait on the node while the GPU is busy and start as its trial exits, one trial per GPU', async () => {
    const run = await runCli(sweepArgs('run', writeJobs(work, 'pipe.json', jobsOf('pipe', 6, 1)), config, join(work, 'out')), env, { cwd: work });
    expect(run.exitCode, run.stderr).toBe(0);
    expect(run.results).toMatchObject({ status: 'complete', successful: 6, failed: 0 });
    for (const job of run.results!.jobs) expect(job.attempts).toHaveLength(1);

    const runs = collectRuns(nodes).filter((r) => r.jobId.startsWith('pipe'));
    expect(runs).toHaveLength(6);
    for (const lane of lanes(runs)) {
      const pairs = lane.slice(1).map((next, i) => ({ before: lane[i], next }));
      // Started only once the trial before it on this GPU had exited.
      for (const { before, next } of pairs) expect(next.start).toBeGreaterThanOrEqual(before.end);
      // ... yet its start command was on the node, waiting for the GPU, before that: it was a standby.
      expect(pairs.some(({ before, next }) => next.startRecord.group_start! < before.end)).toBe(true);
    }
  });

  it('withdraws a waiting job from a node the operator excludes and runs it elsewhere as the same attempt', async () => {
    // 6 s trials: the rig's trial still runs when the exclusion's withdrawal reaches its standby
    // (an activity of its own, started at once), so the standby cannot have started there.
    const worker = await startWorkerProcess(config, env, work);
    try {
      const { id, runs } = await startSweep('sb', 4, 6);
      const rig = rigs.rigs[0].address;
      let withdrawn = '';
      await waitUntil('a job running on the rig and one waiting behind it', () => {
        const runningOnRig = runs().find((r) => r.node === rig);
        withdrawn = jobsWaitingForPermit('sb').find((waiting) => waiting.scriptPath === rigScriptPath && waiting.jobId !== runningOnRig?.jobId)?.jobId ?? '';
        return Boolean(runningOnRig && withdrawn);
      });
      const excluded = await runCli(['exclude', id, rig], env);
      expect(excluded.exitCode, excluded.stderr).toBe(0);
      const excludedAt = Date.now() / 1000;

      const results = await sweepResult(env, id);
      await recordHistory(env, id, 'standby-withdrawn-and-killed-on-node');
      expect(results).toMatchObject({ status: 'complete', successful: 4, failed: 0 });
      const moved = results.jobs.find((job: { job_id: string }) => job.job_id === withdrawn);
      expect(moved).toMatchObject({ node: 'localhost', attempt: 1 });
      expect(moved!.attempts).toHaveLength(1);
      expect(runs().filter((r) => r.node === rig && r.start > excludedAt)).toEqual([]);
      expect(
        runs()
          .filter((r) => r.jobId === withdrawn)
          .map((r) => r.node),
      ).toEqual(['localhost']);
      expect(jobsWaitingForPermit('sb')).toEqual([]); // the rig killed the withdrawn job's waiting command
      // ... at once, by an activity of its own, not only once the standby's activity heard of its cancel.
      const shown = await temporalCli(['workflow', 'show', '--workflow-id', id, '--output', 'json'], env);
      const withdrawals = (JSON.parse(shown.stdout) as ShownHistory).events.filter(
        (event) => event.activityTaskScheduledEventAttributes?.activityType?.name === 'withdrawWaitingJob',
      );
      const jobIds = withdrawals.map(
        (event) =>
          (JSON.parse(Buffer.from(event.activityTaskScheduledEventAttributes!.input.payloads[0].data, 'base64').toString()) as { jobId: string }).jobId,
      );
      expect(jobIds).toEqual([withdrawn]);
    } finally {
      await worker.stop();
    }
  });

  it('on a cancel, kills the waiting commands of standby jobs with the running trials: no standby starts, nothing is left', async () => {
    // Each activity hears of the cancel with its next heartbeat (within 2 s): a running job kills
    // the standby waiting behind it before it frees the GPU, so the standby cannot start in between.
    const worker = await startWorkerProcess(config, env, work);
    try {
      const { id, runs } = await startSweep('cx', 4, 60);
      await waitUntil('a job running and one waiting on each node', () => runs().length === 2 && jobsWaitingForPermit('cx').length === 2);
      const cancel = await runCli(['cancel', id], env);
      expect([cancel.exitCode, cancel.stderr]).toEqual([0, expect.stringContaining(`${id} cancelled`)]);
      expect(jobsWaitingForPermit('cx')).toEqual([]);
      // By process, not by end record: a trial killed before its TERM handler is set records no end.
      await waitUntil(
        'no trial process left',
        () =>
          liveTrialProcesses(
            runs().map((r) => r.startRecord.pid),
            'cx',
          ).length === 0,
        15_000,
      );
      expect(runs().map((r) => r.endRecord?.signal)).toEqual(['SIGTERM', 'SIGTERM']);
    } finally {
      await worker.stop();
    }
  });
});
