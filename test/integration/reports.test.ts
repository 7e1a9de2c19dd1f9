/**
 * The end-of-sweep reports through the real stack: a sweep with failures and retries on the test
 * rigs writes joblog.tsv and report.html next to its results; the joblog agrees with what the
 * rigs recorded, `rigsweep report` writes them again on demand, and the HTML opens offline in
 * headless Chromium with one bar per attempt.
 */
import { copyFileSync, existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Browser } from 'playwright-core';
import { launchChromium } from '../harness/browser';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { TestRigs } from '../harness/rigs';
import { runCli, type CliEnv, type CliRun } from '../harness/cli';
import { collectRuns, writeJobs, writeUserConfig, type NodeUnderTest, startTestCluster } from '../harness/sweep-fixture';

let rigs: TestRigs;
let env: CliEnv;
let work: string;
let nodes: NodeUnderTest[];
let browser: Browser;
let run: CliRun;

const job = (id: string, args: string[]) => ({
  job_id: id,
  script: 'fake_trial.py',
  args: ['--job', id, '--sleep', '0.6', '--output', `out/${id}.json`, ...args],
  expected_output: `out/${id}.json`,
  timeout: 60,
});

/** joblog.tsv as header names → field, one object per row. */
function readJoblog(path: string): Record<string, string>[] {
  const [header, ...rows] = readFileSync(path, 'utf8')
    .trimEnd()
    .split('\n')
    .map((line) => line.split('\t'));
  return rows.map((row) => Object.fromEntries(header.map((name, i) => [name, row[i]])));
}

beforeAll(async () => {
  const cluster = await startTestCluster('reports', inject('temporalAddress'), { rigCount: 1, localGpus: 2, rigGpus: 2, stagger: 0.2 });
  ({ work, rigs, env, nodes } = cluster);
  const config = writeUserConfig(work, 'distributed_config.json', {
    nodes: cluster.configNodes,
    job_batching: { max_jobs_per_batch: 4, max_jobs_per_node_per_batch: 3, inter_batch_cooldown_seconds: 1 },
    retry_backoff_seconds: 0.2,
  });
  const jobsFile = writeJobs(work, 'report_jobs.json', [
    ...[0, 1, 2, 3].map((i) => job(`rep_ok${i}`, [])),
    // First in batch 2, so each node gives them its GPU 0 (lanes fill in GPU order), where they fail;
    // by then the short rep_ok4/5 have left the GPUs 1 idle longest, so the retries run there and succeed.
    ...[0, 1].map((i) => job(`rep_flaky${i}`, ['--fail-on-gpu', '0', '--sleep', '2'])),
    ...[4, 5].map((i) => job(`rep_ok${i}`, [])),
    job('rep_broken', ['--exit-code', '4']),
    job('rep_oom', ['--signal-self', 'KILL']),
  ]);
  run = await runCli(
    [
      'run',
      '--jobs-file',
      jobsFile,
      '--preserve-paths',
      '--config',
      config,
      '--output-dir',
      join(work, 'results'),
      '--workflow-id',
      'report-sweep',
      '--max-retries',
      '1',
    ],
    env,
  );
  browser = await launchChromium();
});

afterAll(async () => {
  await browser?.close();
  await rigs?.stop();
});

describe('reports at the end of a sweep', () => {
  it('writes joblog.tsv and report.html next to the Results JSON', () => {
    expect(run.exitCode, run.stderr).toBe(1); // rep_broken and rep_oom fail on both attempts
    expect(run.results).toMatchObject({ workflow_id: 'report-sweep', total_jobs: 10, batches: 3 });
    for (const name of ['joblog.tsv', 'report.html', 'sweep_results.json', 'results.jsonl']) expect(existsSync(join(run.results!.output_dir, name))).toBe(true);
  });

  it('lists every attempt the rigs ran as one joblog row, with its node, GPU and exit code', () => {
    const rows = readJoblog(join(run.results!.output_dir, 'joblog.tsv'));
    const ran = collectRuns(nodes).filter((r) => r.jobId.startsWith('rep_'));
    expect(ran.length).toBeGreaterThan(10); // the retries ran too
    const key = (jobId: string, node: string, gpu: number | string, exit: number | string) => `${jobId} ${node} GPU${gpu} exit ${exit}`;
    const fromRigs = ran.map((r) => key(r.jobId, r.node, r.gpu, r.endRecord?.exit_code ?? '-'));
    expect(rows.map((row) => key(row.JobId, row.Node, row.GPU, row.Exitval)).sort()).toEqual(fromRigs.sort());
    // Each row's start is the attempt's start on the rig, give or take the time to launch it.
    for (const row of rows) {
      const starts = ran.filter((r) => r.jobId === row.JobId && r.node === row.Node && String(r.gpu) === row.GPU).map((r) => r.start);
      expect(Math.min(...starts.map((t) => Math.abs(t - Number(row.Starttime))))).toBeLessThan(3);
    }
    expect(rows.map((row) => Number(row.Seq))).toEqual(rows.map((_, i) => i + 1));
    expect(rows.map((row) => Number(row.Starttime))).toEqual(rows.map((row) => Number(row.Starttime)).sort((a, b) => a - b));
  });

  it('tells attempts apart: retries numbered, failures named, signals kept', () => {
    const rows = readJoblog(join(run.results!.output_dir, 'joblog.tsv'));
    const of = (jobId: string) => rows.filter((row) => row.JobId === jobId).map((row) => [row.Attempt, row.FailureMode, row.Signal, row.Success]);
    expect(of('rep_broken')).toEqual([
      ['1', 'EXIT_CODE', '-', '0'],
      ['2', 'EXIT_CODE', '-', '0'],
    ]);
    expect(of('rep_oom')).toEqual([
      ['1', 'KILLED', 'SIGKILL', '0'],
      ['2', 'KILLED', 'SIGKILL', '0'],
    ]);
    expect(of('rep_ok0')).toEqual([['1', '-', '-', '1']]);
    for (const flaky of ['rep_flaky0', 'rep_flaky1']) expect(of(flaky).at(-1)?.[3]).toBe('1');
  });
});

describe('rigsweep report <workflow-id>', () => {
  it("writes both reports again into the finished sweep's folder and prints their paths", async () => {
    const html = join(run.results!.output_dir, 'report.html');
    const before = statSync(html).mtimeMs;
    const again = await runCli(['report', 'report-sweep'], env);
    expect(again.exitCode, again.stderr).toBe(0);
    expect(again.stdout).toBe(`${join(run.results!.output_dir, 'joblog.tsv')}\n${html}\n`);
    expect(statSync(html).mtimeMs).toBeGreaterThan(before);
  });

  it('says so, exit 2, for a workflow id no sweep has', async () => {
    const unknown = await runCli(['report', 'no-such-sweep'], env);
    expect(unknown.exitCode).toBe(2);
    expect(unknown.stderr).toContain('no sweep with workflow id "no-such-sweep"');
  });
});

describe('report.html in a browser', () => {
  it('opens offline with one bar per attempt and fetches nothing beyond itself', async () => {
    const file = join(run.results!.output_dir, 'report.html');
    const attempts = readJoblog(join(run.results!.output_dir, 'joblog.tsv')).length;
    const page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
    const requested: string[] = [];
    page.on('request', (request) => requested.push(request.url()));
    await page.goto(pathToFileURL(file).href, { waitUntil: 'networkidle' });
    expect(await page.locator('svg.timeline rect.bar').count()).toBe(attempts);
    expect(await page.locator('svg.timeline path.retry').count()).toBe(attempts - 10);
    expect(await page.locator('svg.timeline text.lane-label').allTextContents()).toEqual(
      nodes.flatMap((node) => Array.from({ length: node.gpuCount }, (_, gpu) => `${node.name} GPU ${gpu}`)),
    );
    expect(await page.locator('rect.bar.failed title').first().textContent()).toMatch(/^rep_(broken|oom), attempt 1\n/);
    const timeline = join(run.results!.output_dir, 'timeline.jsonl');
    if (existsSync(timeline)) {
      const entries = readFileSync(timeline, 'utf8').trim().split('\n').filter(Boolean);
      expect(await page.locator('svg.timeline rect.band').count()).toBe(entries.length);
    }
    expect(requested).toEqual([pathToFileURL(file).href]);
    const png = join(work, 'report.png');
    await page.screenshot({ path: png, fullPage: true });
    copyFileSync(png, '/tmp/rigsweep-report.png');
    expect(statSync(png).size).toBeGreaterThan(10_000);
  });
});
