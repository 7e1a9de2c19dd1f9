/**
 * The fourth way to start a sweep: Temporal Web's "Start Workflow" form, filled in by a person —
 * here headless Chromium — with the input the README documents, served by a real worker on real
 * rigs.
 */
import { chmodSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser } from 'playwright-core';
import type { NodeConfig } from '../../src/shared/config';
import type { ResultsJson } from '../../src/shared/results';
import { launchChromium } from '../harness/browser';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { startRigs, type TestRigs } from '../harness/rigs';
import { runCli, startWorkerProcess, temporalCli, type CliEnv, type TemporalCliResult } from '../harness/cli';
import { clusterNodes, collectRuns, writeUserConfig, type NodeUnderTest } from '../harness/sweep-fixture';

let rigs: TestRigs;
let env: CliEnv;
let nodes: NodeUnderTest[];
let browser: Browser;
let worker: Awaited<ReturnType<typeof startWorkerProcess>>;
let work: string;
let configNodes: NodeConfig[];

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), 'rigsweep-ui-'));
  chmodSync(work, 0o755);
  rigs = await startRigs({ count: 1, stateDir: join(work, 'rigs') });
  env = { temporalAddress: inject('temporalAddress'), taskQueue: `it-web-ui-${process.pid}`, home: rigs.home };
  const cluster = clusterNodes(rigs, { localGpus: 1, rigGpus: 2, stagger: 0.2 });
  nodes = cluster.nodes;
  configNodes = cluster.configNodes;
  const config = writeUserConfig(work, 'distributed_config.json', {
    nodes: cluster.configNodes,
    trial_command: 'python3 fake_trial.py --job web_{trial_id} --sleep 0.1 --output out/{run_id}/{trial_id}.json --gpu-id {gpu}',
    trial_output: 'out/{run_id}/{trial_id}.json',
  });
  worker = await startWorkerProcess(config, env, work);
  browser = await launchChromium();
});

afterAll(async () => {
  await browser?.close();
  await worker?.stop();
  await rigs?.stop();
});

describe('Temporal Web "Start Workflow"', () => {
  it('starts trialSweep from the form with {"trials": 3} and the sweep runs on the rigs', async () => {
    const page = await browser.newPage();
    await page.goto(`${inject('temporalUiUrl')}/namespaces/default/workflows/start-workflow`, { waitUntil: 'networkidle' });
    // Temporal Web 2.54 sometimes leaves its first page load without the form: one reload brings it.
    if (!(await page.waitForSelector('#workflowId', { timeout: 15_000 }).catch(() => null))) await page.reload({ waitUntil: 'networkidle' });
    await page.fill('#workflowId', 'from-web-ui');
    await page.fill('#taskQueue', env.taskQueue);
    await page.fill('#workflowType', 'trialSweep');
    await page.locator('[contenteditable="true"]').first().click();
    await page.keyboard.insertText('{"trials": 3}');
    await page.click('#workflowType'); // leave the editor so the form takes the input
    await page.click('[data-testid="start-workflow-button"]');

    let result: ResultsJson | undefined;
    for (let i = 0; i < 60 && !result; i++) {
      const answer = await temporalCli(['workflow', 'result', '--workflow-id', 'from-web-ui', '--output', 'json'], env);
      if (answer.exitCode === 0) result = (JSON.parse(answer.stdout) as TemporalCliResult).result;
      else await new Promise((resolve) => setTimeout(resolve, 500));
    }
    expect(result).toMatchObject({
      workflow_id: 'from-web-ui',
      run_id: expect.stringMatching(/^full_scoring_results_\d{8}_\d{6}/) as unknown,
      total_jobs: 3,
      successful: 3,
      status: 'complete',
    });
    const ran = collectRuns(nodes).filter((r) => r.jobId.startsWith('web_'));
    expect(ran.map((r) => r.jobId).sort()).toEqual(['web_0000', 'web_0001', 'web_0002']);
    expect(new Set(ran.map((r) => r.node))).toEqual(new Set(result!.jobs.map((j) => j.node)));
  });

  it('tells the story of a sweep: batches, activity summaries, named timers, current details, search attributes, memo', async () => {
    const config = writeUserConfig(work, 'two_batches.json', {
      // A stagger of 1 s: the workflow's timer is the stagger less the start's report and a 250 ms lead.
      nodes: configNodes.map((node) => ({ ...node, stagger_delay: 1 })),
      trial_command: 'python3 fake_trial.py --job story_{trial_id} --sleep 3 --output out/{run_id}/{trial_id}.json --gpu-id {gpu}',
      trial_output: 'out/{run_id}/{trial_id}.json',
      job_batching: { max_jobs_per_batch: 3, max_jobs_per_node_per_batch: 2, inter_batch_cooldown_seconds: 0.5 },
    });
    const started = await runCli(['start', '--trials', '6', '--config', config, '--workflow-id', 'web-ui-story'], env);
    expect(started.exitCode, started.stderr).toBe(0);
    const page = await browser.newPage({ viewport: { width: 1600, height: 1800 } });
    const shown = () => page.locator('body').innerText();
    const tab = async (name: string, expected: string | RegExp) => {
      await page.getByText(name, { exact: true }).first().click();
      await expect.poll(shown, { timeout: 20_000 }).toMatch(expected);
    };
    // While it runs, the workflow's current details say where it is (the metadata query Temporal Web asks too).
    await expect
      .poll(async () => (await temporalCli(['workflow', 'metadata', '--workflow-id', 'web-ui-story'], env)).stdout, { timeout: 20_000 })
      .toMatch(/Current Details:\s+batch 1\/2 running: \d\/6 done, 0 failed, [1-3] running/);

    const done = await temporalCli(['workflow', 'result', '--workflow-id', 'web-ui-story', '--output', 'json'], env);
    expect((JSON.parse(done.stdout) as TemporalCliResult).result).toMatchObject({ successful: 6, batches: 2 });
    await page.goto(`${inject('temporalUiUrl')}/namespaces/default/workflows/web-ui-story`, { waitUntil: 'networkidle' });
    await expect.poll(shown, { timeout: 15_000 }).toContain('cooldown after batch 1');
    const timeline = await shown();
    expect(timeline).toContain('trialSweep');
    expect(timeline).toContain('batch 1/2: jobs 1-3');
    expect(timeline).toContain('batch 2/2: jobs 4-6');
    expect(timeline).toContain(`reset ${configNodes[1].hostname} before batch 2`);
    expect(timeline).toMatch(/runJob • trial_0000 on (localhost|10\.231\.0\.11) GPU \d/);
    expect(timeline).toMatch(/stagger (localhost|10\.231\.0\.11)/);
    await tab('Search Attributes', '"RigsweepDone": 6');
    expect(await shown()).toContain('"RigsweepSweep": "trials"');
    await tab('Memo', '"config_digest"');
    // Temporal Web names the sweep by its workflow id and shows its run id, the run folder's name, in the memo.
    expect(await shown()).toMatch(/"run_id": "full_scoring_results_\d{8}_\d{6}/);
    await page.screenshot({ path: join(work, 'web-ui-story.png') });
  });
});
