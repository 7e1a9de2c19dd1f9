/**
 * A worker killed -9 in the middle of a batch, as an operator's bad day would have it: a new
 * worker finishes the sweep and no trial runs twice — a job whose trial was still running when
 * its worker died is re-attached to (not killed and run again), a job whose trial ended before its
 * worker could report it is adopted from its end record, a standby still waiting for its GPU runs
 * once; never two copies at once, no process left behind. Read back from what the rigs recorded.
 */
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { jobsRunTwiceAtOnce, reportChaos } from '../harness/chaos-report';
import type { TestRigs } from '../harness/rigs';
import { runCli, startWorkerProcess, type CliEnv, sweepResult, sweepArgs } from '../harness/cli';
import {
  collectRuns,
  jobsWaitingForPermit,
  maxOverlap,
  startTestCluster,
  writeJobs,
  writeUserConfig,
  type NodeUnderTest,
  waitUntil,
} from '../harness/sweep-fixture';

let rigs: TestRigs;
let env: CliEnv;
let work: string;
let nodes: NodeUnderTest[];
let unstaggered: string;
/** Seconds each job's trial runs: the long ones still run when the retries come, the medium ones end while their worker is frozen. */
const LONG = 30;
const MEDIUM = 10;
const SLEEP = [LONG, LONG, MEDIUM, MEDIUM, 0.3, 0.3, 0.3, 0.3];

beforeAll(async () => {
  const cluster = await startTestCluster('crash', inject('temporalAddress'), { rigCount: 1, localGpus: 2, rigGpus: 2, stagger: 0.1 });
  ({ work, rigs, env, nodes } = cluster);
  // A lease that outlasts Temporal's notice of the lost worker (10 s without heartbeats, then a retry) on a busy machine.
  const configNodes = cluster.configNodes.map((node) => ({ ...node, stagger_delay: 0 }));
  unstaggered = writeUserConfig(work, 'unstaggered_config.json', { nodes: configNodes, lease_seconds: 45 });
});

afterAll(async () => {
  await rigs?.stop();
});

/** Jobs `<prefix><i>` sleeping `SLEEP[i]` seconds, started with a first worker polling; `runs` reads back their trials. */
async function startWithWorker(prefix: string) {
  const jobs = SLEEP.map((sleep, i) => ({
    job_id: `${prefix}${i}`,
    script: 'fake_trial.py',
    args: ['--job', `${prefix}${i}`, '--sleep', String(sleep), '--output', `out/${prefix}${i}.json`],
    expected_output: `out/${prefix}${i}.json`,
  }));
  const first = await startWorkerProcess(unstaggered, env, work);
  const started = await runCli(sweepArgs('start', writeJobs(work, `${prefix}jobs.json`, jobs), unstaggered, join(work, 'out')), env);
  expect(started.exitCode, started.stderr).toBe(0);
  return { first, id: started.stdout.trim(), runs: () => collectRuns(nodes).filter((r) => r.jobId.startsWith(prefix)) };
}

describe('a worker killed -9 mid-batch', () => {
  it('is replaced by another that finishes the sweep: running trials are re-attached, ended ones adopted, standbys run once — every trial runs once', async () => {
    const prefix = 'sbcrash_';
    const { first, id, runs } = await startWithWorker(prefix);
    const sleepOf = (jobId: string) => SLEEP[Number(jobId.slice(prefix.length))];
    const [long, medium] = [LONG, MEDIUM].map((sleep) => SLEEP.flatMap((s, i) => (s === sleep ? [`${prefix}${i}`] : [])));
    const picture = () => {
      const all = runs();
      const started = new Set(all.map((r) => r.jobId));
      return {
        running: all.filter((r) => !r.endRecord),
        waiting: [...new Set(jobsWaitingForPermit(prefix).map((w) => w.jobId))].filter((jobId) => !started.has(jobId)),
      };
    };
    let crashedAt: number;
    let waitingAtCrash: string[];
    let waitingSeenAt: number;
    try {
      // Which job waits behind which is the dispatcher's choice: wait until the long and medium
      // trials run (each medium one with 4 s left at least) and two start commands wait behind
      // them, the same for 1 s. Then the worker freezes, as a worker about to die does: it reports
      // nothing more. The medium trials end meanwhile; only then is it killed.
      let before = '';
      let since = Date.now();
      await waitUntil(
        'the long and medium trials running, two start commands waiting behind them, the same for 1 s',
        () => {
          const { running, waiting } = picture();
          const now = JSON.stringify({ running: running.map((r) => r.jobId).sort(), waiting: waiting.sort() });
          if (now !== before) [before, since] = [now, Date.now()];
          const timeLeft = Math.min(...running.map((r) => r.startRecord.t + sleepOf(r.jobId) - Date.now() / 1000));
          const runningJobs = running.map((r) => r.jobId).sort();
          return (
            Date.now() - since >= 1000 && JSON.stringify(runningJobs) === JSON.stringify([...long, ...medium].sort()) && timeLeft >= 4 && waiting.length >= 2
          );
        },
        30_000,
      );
      first.freeze();
      await waitUntil(
        'the medium trials ended while their worker was frozen',
        () => runs().filter((r) => medium.includes(r.jobId) && r.endRecord).length === 2,
        20_000,
      );
      waitingSeenAt = Date.now() / 1000;
      waitingAtCrash = picture().waiting;
    } finally {
      await first.kill();
      crashedAt = Date.now() / 1000;
    }

    const second = await startWorkerProcess(unstaggered, env, work);
    try {
      const results = await sweepResult(env, id);
      const recoveredIn = Date.now() / 1000 - crashedAt;
      expect(results).toMatchObject({ status: 'complete', successful: 8, failed: 0 });
      const all = runs();
      reportChaos({
        fault: 'worker killed -9 mid-batch',
        jobs: 8,
        lost: 8 - results.successful,
        twiceAtOnce: jobsRunTwiceAtOnce(all),
        orphans: all.filter((r) => !r.endRecord).length,
        recoverSeconds: recoveredIn,
      });
      expect(jobsRunTwiceAtOnce(all)).toBe(0);
      // Every job's trial ran once: none ran again because its worker died.
      for (let i = 0; i < SLEEP.length; i++)
        expect(
          all.filter((r) => r.jobId === `${prefix}${i}`),
          `${prefix}${i}`,
        ).toHaveLength(1);
      const record = (jobId: string) => results.jobs.find((job) => job.job_id === jobId);
      // Running at the crash: re-attached to, its one copy ran to its end (not killed).
      for (const jobId of long) {
        expect(record(jobId), jobId).toMatchObject({ success: true, resumed: 'reattached' });
        expect(all.find((r) => r.jobId === jobId)?.endRecord, jobId).toMatchObject({ exit_code: 0 });
      }
      // Ended before its worker could report it: adopted from its end record, its output copied home.
      for (const jobId of medium)
        expect(record(jobId), jobId).toMatchObject({ success: true, resumed: 'adopted', local_output: expect.any(String) as unknown });
      expect(second.stderr()).toMatch(/reattached/);
      expect(second.stderr()).toMatch(/adopted/);
      expect(recoveredIn).toBeLessThan(60);
      for (const node of nodes)
        for (let gpu = 0; gpu < node.gpuCount; gpu++)
          expect(maxOverlap(all.filter((r) => r.node === node.name && r.gpu === gpu)), `${node.name} GPU ${gpu}`).toBeLessThanOrEqual(1);
      // A standby still waiting while its worker was frozen had not started then: its one trial
      // started after (give or take the interpreter's start-up, which its start time includes). It
      // may start before the kill: it waits on the rig's own lock, not on its worker.
      expect(waitingAtCrash.length).toBeGreaterThanOrEqual(1);
      for (const jobId of waitingAtCrash) expect(all.find((r) => r.jobId === jobId)?.start, jobId).toBeGreaterThanOrEqual(waitingSeenAt! - 0.5);
      expect(all.filter((r) => !r.endRecord)).toEqual([]);
      expect(jobsWaitingForPermit(prefix)).toEqual([]);
    } finally {
      await second.stop();
    }
  });
});
