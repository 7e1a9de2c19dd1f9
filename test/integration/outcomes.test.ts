/**
 * What a sweep makes of its trials' ends, through the real CLI, worker, server and rigs: the
 * success rule, timeouts that kill, retries on another GPU, and max_fail_percentage.
 */
import { chmodSync, mkdirSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { NodeConfig } from '../../src/shared/config';
import { isRunning } from '../harness/chaos-report';
import type { TestRigs } from '../harness/rigs';
import { recordHistory, runCli, type CliEnv } from '../harness/cli';
import { job, startScorerCluster } from '../harness/scorer-cluster';
import { collectRuns, writeJobs, writeUserConfig, type NodeUnderTest } from '../harness/sweep-fixture';

let rigs: TestRigs;
let env: CliEnv;
let work: string;
let nodes: NodeUnderTest[];
let configFile: string;
let configNodes: NodeConfig[];

beforeAll(async () => {
  ({ work, rigs, env, nodes, configNodes, configFile } = await startScorerCluster('outcomes', inject('temporalAddress')));
});

afterAll(async () => {
  await rigs?.stop();
});

describe('the success rule, through real trials', () => {
  it('tells every way a trial can fail apart and exits 1', async () => {
    // A stale result from an earlier run sits where the 'stale' job would write, on every node.
    for (const node of nodes) {
      mkdirSync(join(node.workDir, 'out'), { recursive: true });
      chmodSync(join(node.workDir, 'out'), 0o777); // the rigs' trials run as the rig user
      writeFileSync(join(node.workDir, 'out', 'stale.json'), '{"status": "success", "accuracy": 0.9}');
      utimesSync(join(node.workDir, 'out', 'stale.json'), new Date(Date.now() - 3600_000), new Date(Date.now() - 3600_000));
    }
    const jobsFile = writeJobs(work, 'outcomes.json', [
      job('ok', ['--output', 'out/ok.json', '--accuracy', '-inf', '--status', 'pruned']),
      job('exit3', ['--output', 'out/exit3.json', '--exit-code', '3']),
      job('trialerror', ['--output', 'out/trialerror.json', '--status', 'error', '--accuracy', '-inf']),
      job('crashed', ['--output', 'out/crashed.json', '--status', 'error', '--exit-code', '1']),
      job('stale', []),
      job('missing', []),
      job('oom', ['--output', 'out/oom.json', '--signal-self', 'KILL']),
      job('slow', ['--sleep', '30', '--ignore-term'], { timeout: 2 }),
    ]);
    // --preserve-paths, as the user runs it: outputs stay where the jobs name them, next to old ones.
    const run = await runCli(
      ['run', '--jobs-file', jobsFile, '--config', configFile, '--output-dir', join(work, 'results'), '--max-retries', '0', '--preserve-paths'],
      env,
    );
    expect(run.exitCode, run.stderr).toBe(1);
    expect(run.results).toMatchObject({ status: 'partial', preserve_paths: true });
    await recordHistory(env, run.results!.workflow_id, 'failure-modes-timeout-kill');
    const modes = Object.fromEntries(run.results!.jobs.map((j) => [j.job_id, j.failure_mode]));
    expect(modes).toEqual({
      ok: null,
      exit3: 'EXIT_CODE',
      trialerror: 'TRIAL_ERROR',
      crashed: 'TRIAL_ERROR',
      stale: 'STALE_OUTPUT',
      missing: 'FILE_MISSING',
      oom: 'KILLED',
      slow: 'TIMEOUT',
    });
    const byId = Object.fromEntries(run.results!.jobs.map((j) => [j.job_id, j]));
    expect(byId.oom.signal).toBe('SIGKILL');
    expect(byId.exit3.exit_code).toBe(3);
    expect(byId.crashed).toMatchObject({ exit_code: 1, error: expect.stringContaining('status "error"') as unknown });
    expect(run.stdout).toMatch(/^ {2}✗ stale → \S+:GPU\d \(\d+\.\ds\) STALE_OUTPUT: out\/stale\.json is older than this attempt/m);
  });

  it('kills the whole process group of a job that times out, even one that ignores SIGTERM', () => {
    const slow = collectRuns(nodes).find((r) => r.jobId === 'slow')!;
    expect(slow.endRecord).toBeUndefined(); // killed by SIGKILL before it could finish
    // Gone, or a zombie until init reaps it: the trial is its node-side shell's child, and both die at once.
    expect(isRunning(slow.startRecord.pid), 'the killed trial').toBe(false);
  });
});

// Run folders, redirected outputs and the seed's manifest: test/integration/step3-drop-in.test.ts.

describe('retries of failed runs', () => {
  it('retries a run that failed on another GPU, shows every attempt, and never retries a trial that reported an error', async () => {
    // One rig with 2 GPUs: the first attempt of every job lands on GPU 0, which is "broken".
    const rigOnly = writeUserConfig(work, 'retry_config.json', {
      nodes: [{ ...configNodes[1], gpu_count: 2, max_concurrent_script_jobs: 1 }],
      retry_backoff_seconds: 0.2,
    });
    const jobsFile = writeJobs(work, 'retry_jobs.json', [
      job('flaky', ['--output', 'out/flaky.json', '--fail-on-gpu', '0']),
      job('broken', ['--exit-code', '4']),
      job('reported', ['--output', 'out/reported.json', '--status', 'error']),
    ]);
    const run = await runCli(
      ['run', '--jobs-file', jobsFile, '--preserve-paths', '--config', rigOnly, '--output-dir', join(work, 'results'), '--max-retries', '2'],
      env,
    );
    expect(run.exitCode, run.stderr).toBe(1);
    await recordHistory(env, run.results!.workflow_id, 'retries-on-another-gpu');
    const byId = Object.fromEntries(run.results!.jobs.map((j) => [j.job_id, j]));
    expect(byId.flaky).toMatchObject({ success: true, attempt: 2, gpu_id: 1 });
    expect(byId.flaky.attempts.map((a) => [a.attempt, a.gpu_id, a.failure_mode])).toEqual([
      [1, 0, 'EXIT_CODE'],
      [2, 1, null],
    ]);
    expect(byId.broken).toMatchObject({ success: false, attempt: 3, failure_mode: 'EXIT_CODE' });
    expect(byId.broken.attempts).toHaveLength(3);
    expect(byId.reported).toMatchObject({ success: false, attempt: 1, failure_mode: 'TRIAL_ERROR' });
    expect(run.stdout).toMatch(/^ {2}✗ flaky → \S+:GPU0 \(\d+\.\ds\) EXIT_CODE: exit code 3 — retry 2\/3 in 0\.2s$/m);
    expect(run.stdout).toMatch(/^ {2}✓ flaky → \S+:GPU1 \(\d+\.\ds\) on attempt 2$/m);
    const starts = collectRuns(nodes).filter((r) => ['flaky', 'broken', 'reported'].includes(r.jobId));
    expect(starts.filter((r) => r.jobId === 'broken')).toHaveLength(3);
    expect(starts.filter((r) => r.jobId === 'reported')).toHaveLength(1);
  });
});

describe('max_fail_percentage', () => {
  it('starts no further batch once a batch failed above it, and says why', async () => {
    const stopping = writeUserConfig(work, 'stop_config.json', {
      nodes: [{ ...configNodes[1], gpu_count: 2 }],
      job_batching: { max_jobs_per_batch: 2, max_jobs_per_node_per_batch: 2, inter_batch_cooldown_seconds: 0, max_fail_percentage: 50 },
    });
    const jobsFile = writeJobs(
      work,
      'stop_jobs.json',
      [0, 1, 2, 3].map((i) => job(`doomed${i}`, ['--exit-code', '5'])),
    );
    const run = await runCli(
      ['run', '--jobs-file', jobsFile, '--preserve-paths', '--config', stopping, '--output-dir', join(work, 'results'), '--max-retries', '0'],
      env,
    );
    expect(run.exitCode, run.stderr).toBe(1);
    expect(run.results).toMatchObject({ total_jobs: 4, successful: 0, failed: 4, batches: 1 }); // batches that ran
    expect(run.results!.stopped_reason).toBe('batch 1: 2 of 2 jobs failed (100%), above max_fail_percentage 50; no further batch was started');
    expect(run.results!.jobs.map((j) => j.job_id)).toEqual(['doomed0', 'doomed1']);
    expect(run.stderr).toContain('sweep stopped early: batch 1');
    expect(
      collectRuns(nodes)
        .filter((r) => r.jobId.startsWith('doomed'))
        .map((r) => r.jobId)
        .sort(),
    ).toEqual(['doomed0', 'doomed1']);
  });
});

// Bad input (exit 2, nothing started) has its own file, bad-input.test.ts: it is a fault test of `npm run chaos`.
