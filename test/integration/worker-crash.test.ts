/**
 * A worker killed -9 in the middle of a batch, as an operator's bad day would have it: a new
 * worker finishes the sweep, no job that had finished runs again, and a job whose process was
 * still running when its worker died is killed before it starts again — never two copies at once,
 * no process left behind. Read back from what the rigs recorded.
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
/** Jobs 2-5 run 18 s, the others 0.3 s. */
const LONG = new Set([2, 3, 4, 5]);

beforeAll(async () => {
  const cluster = await startTestCluster('crash', inject('temporalAddress'), { rigCount: 1, localGpus: 2, rigGpus: 2, stagger: 0.1 });
  ({ work, rigs, env, nodes } = cluster);
  unstaggered = writeUserConfig(work, 'unstaggered_config.json', { nodes: cluster.configNodes.map((node) => ({ ...node, stagger_delay: 0 })) });
});

afterAll(async () => {
  await rigs?.stop();
});

/**
 * Jobs `<prefix><i>` sleeping `sleepOf(i)` seconds, started under `configFile` with a first worker
 * polling; `runs` reads back their trials.
 */
async function startWithWorker(prefix: string, count: number, sleepOf: (i: number) => string, configFile: string) {
  const jobs = Array.from({ length: count }, (_, i) => ({
    job_id: `${prefix}${i}`,
    script: 'fake_trial.py',
    args: ['--job', `${prefix}${i}`, '--sleep', sleepOf(i), '--output', `out/${prefix}${i}.json`],
    expected_output: `out/${prefix}${i}.json`,
  }));
  const first = await startWorkerProcess(configFile, env, work);
  const started = await runCli(sweepArgs('start', writeJobs(work, `${prefix}jobs.json`, jobs), configFile, join(work, 'out')), env);
  expect(started.exitCode, started.stderr).toBe(0);
  return { jobs, first, id: started.stdout.trim(), runs: () => collectRuns(nodes).filter((r) => r.jobId.startsWith(prefix)) };
}

describe('a worker killed -9 mid-batch', () => {
  it('is replaced by another that finishes the sweep: nothing finished runs again, nothing runs twice at once, and standbys waiting on the GPUs are killed too', async () => {
    // Without a stagger, short jobs finish first, then two jobs wait on the nodes as standbys
    // behind long ones (18 s) when the worker dies; the long ones still run when Temporal
    // retries them 10-12 s later, so each lost copy must be killed before its job runs again.
    const { first, id, runs } = await startWithWorker('sbcrash_', 8, (i) => (LONG.has(i) ? '18' : '0.3'), unstaggered);
    // Which job waits behind which is the dispatcher's choice: wait until only long jobs run, with
    // at least two finished before and two waiting behind them, so every copy running at the crash
    // is still running when Temporal retries it. Waiting: a start command on the node whose trial
    // has not recorded its start (the command line holds RIGSWEEP_GO until its exec). The picture
    // must hold for 2 s: no job is caught between its permit and its trial's start, and a finished
    // job's end has reached the sweep (a trial that ended but whose worker died before saying so
    // runs again).
    const isLong = (jobId: string) => LONG.has(Number(jobId.slice('sbcrash_'.length)));
    const picture = () => {
      const all = runs();
      const started = new Set(all.map((r) => r.jobId));
      return {
        finished: all.filter((r) => r.endRecord).map((r) => r.jobId),
        running: all.filter((r) => !r.endRecord).map((r) => r.jobId),
        waiting: [...new Set(jobsWaitingForPermit('sbcrash_').map((w) => w.jobId))].filter((jobId) => !started.has(jobId)),
      };
    };
    let before = '';
    let since = Date.now();
    let atCrash = picture();
    await waitUntil(
      'two jobs finished, only long jobs running and two waiting behind them, the same for 2 s',
      () => {
        atCrash = picture();
        const { finished, running, waiting } = atCrash;
        const now = JSON.stringify(atCrash);
        if (now !== before) [before, since] = [now, Date.now()];
        return Date.now() - since >= 2000 && finished.length >= 2 && running.length >= 2 && running.every(isLong) && waiting.length >= 2;
      },
      30_000,
    );
    const { finished: finishedAtCrash, running: runningAtCrash, waiting: waitingAtCrash } = atCrash;
    process.kill(first.pid, 'SIGKILL');
    const crashedAt = Date.now() / 1000;

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
      // Finished before the crash: never ran again.
      expect(finishedAtCrash.length).toBeGreaterThanOrEqual(2);
      for (const jobId of finishedAtCrash)
        expect(
          all.filter((r) => r.jobId === jobId),
          jobId,
        ).toHaveLength(1);
      // Running at the crash: the lost copy was killed (TERM) before the job started again.
      for (const jobId of runningAtCrash) {
        const copies = all.filter((r) => r.jobId === jobId).sort((a, b) => a.start - b.start);
        expect(copies.length, jobId).toBeGreaterThanOrEqual(2);
        expect(copies[0].endRecord?.signal, `${jobId}'s lost copy`).toBe('SIGTERM');
        for (let k = 1; k < copies.length; k++) expect(copies[k].start, `${jobId} copy ${k + 1}`).toBeGreaterThanOrEqual(copies[k - 1].end);
      }
      expect(recoveredIn).toBeLessThan(60);
      for (const node of nodes)
        for (let gpu = 0; gpu < node.gpuCount; gpu++)
          expect(maxOverlap(all.filter((r) => r.node === node.name && r.gpu === gpu)), `${node.name} GPU ${gpu}`).toBeLessThanOrEqual(1);
      // A standby waiting at the crash never started before it: its trial ran once, after the retry.
      for (const jobId of waitingAtCrash)
        expect(
          all.filter((r) => r.jobId === jobId),
          jobId,
        ).toHaveLength(1);
      expect(all.filter((r) => !r.endRecord)).toEqual([]);
      expect(jobsWaitingForPermit('sbcrash_')).toEqual([]);
    } finally {
      await second.stop();
    }
  });
});
