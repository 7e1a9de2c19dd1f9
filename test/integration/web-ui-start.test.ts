/**
 * The fourth way to start a sweep: Temporal Web's "Start Workflow" form, filled in by a person —
 * here headless Chromium — with the input the README documents, served by a real worker on real
 * rigs.
 */
import { chmodSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { startRigs, type TestRigs } from '../harness/rigs';
import { clusterNodes, collectRuns, startWorkerProcess, temporalCli, writeUserConfig, type CliEnv, type NodeUnderTest } from '../harness/sweep-fixture';

let rigs: TestRigs;
let env: CliEnv;
let nodes: NodeUnderTest[];
let browser: Browser;
let worker: Awaited<ReturnType<typeof startWorkerProcess>>;

beforeAll(async () => {
  const work = mkdtempSync(join(tmpdir(), 'rigsweep-ui-'));
  chmodSync(work, 0o755);
  rigs = await startRigs({ count: 1, stateDir: join(work, 'rigs') });
  env = { temporalAddress: inject('temporalAddress'), taskQueue: `it-web-ui-${process.pid}`, home: rigs.home };
  const cluster = clusterNodes(rigs, { localGpus: 1, rigGpus: 2, stagger: 0.2 });
  nodes = cluster.nodes;
  const config = writeUserConfig(work, 'distributed_config.json', {
    nodes: cluster.configNodes,
    trial_command: 'python3 fake_trial.py --job web_{trial_id} --sleep 0.1 --output out/{run_id}/{trial_id}.json --gpu-id {gpu}',
    trial_output: 'out/{run_id}/{trial_id}.json',
  });
  worker = await startWorkerProcess(config, env, work);
  browser = await chromium.launch({
    executablePath: '/usr/bin/chromium',
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--no-first-run'],
  });
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
    await page.fill('#workflowId', 'from-web-ui');
    await page.fill('#taskQueue', env.taskQueue);
    await page.fill('#workflowType', 'trialSweep');
    await page.locator('[contenteditable="true"]').first().click();
    await page.keyboard.insertText('{"trials": 3}');
    await page.click('#workflowType'); // leave the editor so the form takes the input
    await page.click('[data-testid="start-workflow-button"]');

    let result: any;
    for (let i = 0; i < 60 && !result; i++) {
      const answer = await temporalCli(['workflow', 'result', '--workflow-id', 'from-web-ui', '--output', 'json'], env);
      if (answer.exitCode === 0) result = JSON.parse(answer.stdout).result;
      else await new Promise((resolve) => setTimeout(resolve, 500));
    }
    expect(result).toMatchObject({ run_id: 'from-web-ui', total_jobs: 3, successful: 3, status: 'complete' });
    const ran = collectRuns(nodes).filter((r) => r.jobId.startsWith('web_'));
    expect(ran.map((r) => r.jobId).sort()).toEqual(['web_0000', 'web_0001', 'web_0002']);
    expect(new Set(ran.map((r) => r.node))).toEqual(new Set(result.jobs.map((j: any) => j.node)));
  });
});
