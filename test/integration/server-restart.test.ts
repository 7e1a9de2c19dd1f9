/**
 * Durable means durable: the Temporal server is killed (-9) in the middle of a sweep and started
 * again on its database file; the sweep completes, and no job runs twice. This test runs its own
 * dev server, since it kills it.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { jobsRunTwiceAtOnce, reportChaos } from '../harness/chaos-report';
import { DEV_SERVER_TUNING, findTemporalCli, portAnswers } from '../../src/cli/dev-server';
import { readTrialRecords } from '../harness/rigs';
import { runCli, sweepArgs } from '../harness/cli';
import { copyFakeTrial, writeJobs, writeUserConfig, collectRuns } from '../harness/sweep-fixture';

const work = mkdtempSync(join(tmpdir(), 'rigsweep-restart-'));
chmodSync(work, 0o755);
const port = 21000 + (process.pid % 20000);
let server: ChildProcess | undefined;

async function startServer(): Promise<void> {
  server = spawn(
    findTemporalCli()!,
    ['server', 'start-dev', '--headless', '--port', String(port), '--db-filename', join(work, 'temporal.db'), '--log-level', 'error', ...DEV_SERVER_TUNING],
    { stdio: 'ignore' },
  );
  for (let i = 0; i < 200 && !(await portAnswers('127.0.0.1', port)); i++) await new Promise((resolve) => setTimeout(resolve, 200));
}

afterAll(() => {
  server?.kill('SIGKILL');
});

describe('a Temporal server restart mid-sweep', () => {
  it('the sweep completes and every job ran exactly once', async () => {
    await startServer();
    const local = join(work, 'local');
    mkdirSync(local, { recursive: true });
    copyFakeTrial(local);
    const config = writeUserConfig(work, 'config.json', {
      nodes: [{ hostname: 'localhost', gpu_count: 2, script_path: local, python_env: '/usr/bin/python3', stagger_delay: 0.2 }],
      job_batching: { max_jobs_per_batch: 4, max_jobs_per_node_per_batch: 4, inter_batch_cooldown_seconds: 1 },
    });
    const jobs = Array.from({ length: 12 }, (_, i) => ({
      job_id: `j${i}`,
      script: 'fake_trial.py',
      args: ['--job', `j${i}`, '--sleep', '1', '--output', `out/j${i}.json`],
      expected_output: `out/j${i}.json`,
    }));
    const env = { temporalAddress: `127.0.0.1:${port}`, taskQueue: 'restart', home: work };
    const started = () => readTrialRecords(local).filter((r) => r.event === 'start');
    const run = runCli(sweepArgs('run', writeJobs(work, 'jobs.json', jobs), config, join(work, 'out')), env, { timeoutMs: 240_000 });
    for (let i = 0; i < 150 && started().length < 3; i++) await new Promise((resolve) => setTimeout(resolve, 200));
    server!.kill('SIGKILL');
    const killedAt = Date.now();
    await new Promise((resolve) => setTimeout(resolve, 3000));
    await startServer();
    const result = await run;
    const runs = collectRuns([{ name: 'localhost', workDir: local, gpuCount: 2, maxConcurrent: 2, stagger: 0.2, rocm: false }]);
    reportChaos({
      fault: 'Temporal server killed -9, back after 3 s',
      jobs: jobs.length,
      lost: jobs.length - (result.results?.successful ?? 0),
      twiceAtOnce: jobsRunTwiceAtOnce(runs),
      orphans: runs.filter((r) => !r.endRecord).length,
      recoverSeconds: (Date.now() - killedAt) / 1000,
    });
    expect(result.exitCode, result.stderr).toBe(0);
    expect(result.results).toMatchObject({ total_jobs: 12, successful: 12 });
    expect(
      started()
        .map((r) => r.argv[1])
        .sort(),
    ).toEqual(jobs.map((j) => j.job_id).sort());
  }, 300_000);
});
