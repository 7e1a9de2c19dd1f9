/**
 * Prometheus metrics of a worker, scraped from its endpoint as Prometheus would: a `rigsweep
 * worker` with RIGSWEEP_METRICS_PORT runs a batched sweep with failing jobs on the sshd test rigs,
 * and its counts must equal what the Results JSON and the rigs' own records say. The workflow-side
 * metrics are checked through the real SDK with a worker in this process that caches no workflow,
 * so every workflow task replays the history before it.
 */
import { chmodSync, mkdtempSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { DefaultLogger, NativeConnection, Runtime, Worker } from '@temporalio/worker';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { hasWorker } from '../../src/cli/temporal';
import { metricsTelemetry } from '../../src/metrics/install-metrics';
import type { NodeConfig } from '../../src/shared/config';
import type { JobResult } from '../../src/shared/results';
import { readCalls, startRigs, type TestRigs } from '../harness/rigs';
import { runCli, startWorkerProcess, type CliEnv } from '../harness/cli';
import { clusterNodes, collectRuns, type NodeUnderTest, writeJobs, writeUserConfig } from '../harness/sweep-fixture';
import { sweepMetricsProbe } from '../fixtures/metrics-workflow';

let rigs: TestRigs;
let env: CliEnv;
let work: string;
let nodes: NodeUnderTest[];
let configNodes: NodeConfig[];

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), 'rigsweep-metrics-'));
  chmodSync(work, 0o755);
  rigs = await startRigs({ count: 2, stateDir: join(work, 'rigs') });
  env = { temporalAddress: inject('temporalAddress'), taskQueue: `it-metrics-${process.pid}`, home: rigs.home };
  ({ nodes, configNodes } = clusterNodes(rigs, { localGpus: 2, rigGpus: 2, stagger: 0.2 }));
});

afterAll(async () => {
  await rigs?.stop();
});

interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/** Prometheus' text format, as far as these metrics use it: `name{label="value",...} number`. */
function parseMetrics(text: string): Sample[] {
  return text
    .split('\n')
    .filter((line) => line && !line.startsWith('#'))
    .map((line) => {
      const [, name, labelText = '', value] = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})?\s+(\S+)$/.exec(line)!;
      const labels = Object.fromEntries([...labelText.matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)].map(([, key, text]) => [key, text]));
      return { name, labels, value: Number(value) };
    });
}

async function scrape(port: number): Promise<Sample[]> {
  const response = await fetch(`http://127.0.0.1:${port}/metrics`);
  expect(response.status).toBe(200);
  return parseMetrics(await response.text());
}

/** Sums a metric's samples by the given labels: `{"10.231.0.11/1": 2, ...}`. */
function totals(samples: Sample[], name: string, by: string[], where: Record<string, string> = {}): Record<string, number> {
  const result: Record<string, number> = {};
  for (const sample of samples.filter((s) => s.name === name && Object.entries(where).every(([k, v]) => s.labels[k] === v))) {
    const key = by.map((label) => sample.labels[label]).join('/');
    result[key] = (result[key] ?? 0) + sample.value;
  }
  return result;
}

function countBy<T>(items: T[], key: (item: T) => string): Record<string, number> {
  const result: Record<string, number> = {};
  for (const item of items) result[key(item)] = (result[key(item)] ?? 0) + 1;
  return result;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
    server.once('error', reject);
  });
}

const job = (id: string, extra: string[]) => ({
  job_id: id,
  script: 'fake_trial.py',
  args: ['--job', id, '--sleep', '0.3', '--output', `out/${id}.json`, ...extra],
  expected_output: `out/${id}.json`,
});

async function waitForPoller(): Promise<void> {
  const connection = await Connection.connect({ address: env.temporalAddress });
  try {
    const client = new Client({ connection });
    const settings = { address: env.temporalAddress, namespace: 'default', taskQueue: env.taskQueue };
    for (let i = 0; i < 100 && !(await hasWorker(client, settings)); i++) await new Promise((resolve) => setTimeout(resolve, 100));
  } finally {
    await connection.close();
  }
}

describe('a worker with RIGSWEEP_METRICS_PORT', () => {
  it("serves the SDK's metrics and rigsweep's, whose counts match the Results JSON and the rigs' records", async () => {
    const port = await freePort();
    const config = writeUserConfig(work, 'metrics.json', {
      nodes: configNodes,
      job_batching: { max_jobs_per_batch: 4, max_jobs_per_node_per_batch: 2, inter_batch_cooldown_seconds: 0.5, allocator_reset_between_batches: true },
    });
    // GPU 1 of every node is "broken" for most jobs; two more fail whatever GPU they get.
    const jobs = [
      ...Array.from({ length: 8 }, (_, i) => job(`metric${i}`, ['--fail-on-gpu', '1'])),
      job('metric_exit', ['--exit-code', '2']),
      job('metric_error', ['--status', 'error']),
    ];
    const worker = await startWorkerProcess(config, env, work, { args: ['--metrics-port', String(port)] });
    try {
      expect(worker.stderr()).toContain(`Prometheus metrics on http://0.0.0.0:${port}/metrics`);
      await waitForPoller();
      const run = await runCli(
        [
          'run',
          '--jobs-file',
          writeJobs(work, 'metric-jobs.json', jobs),
          '--preserve-paths',
          '--config',
          config,
          '--output-dir',
          join(work, 'results'),
          '--max-retries',
          '0',
        ],
        env,
      );
      expect(run.exitCode, run.stderr).toBe(1);
      expect(run.stderr).not.toContain('hosting one in this process');
      const samples = await scrape(port);

      const results: JobResult[] = run.results!.jobs;
      expect(results.map((r) => r.attempt)).toEqual(results.map(() => 1));
      const byGpu = (list: JobResult[]) => countBy(list, (r) => `${r.node}/${r.gpu_id}`);
      const ranOnRigs = collectRuns(nodes).filter((r) => r.jobId.startsWith('metric'));
      expect(ranOnRigs).toHaveLength(jobs.length);
      expect(totals(samples, 'rigsweep_jobs_started', ['node', 'gpu'])).toEqual(countBy(ranOnRigs, (r) => `${r.node}/${r.gpu}`));
      expect(totals(samples, 'rigsweep_jobs_started', ['node', 'gpu'])).toEqual(byGpu(results));
      expect(totals(samples, 'rigsweep_jobs_succeeded', ['node', 'gpu'])).toEqual(byGpu(results.filter((r) => r.success)));
      const failed = results.filter((r) => !r.success);
      expect(failed.length).toBe(run.results!.failed);
      expect(new Set(failed.map((r) => r.failure_mode))).toEqual(new Set(['EXIT_CODE', 'TRIAL_ERROR']));
      expect(totals(samples, 'rigsweep_jobs_failed', ['node', 'gpu', 'failure_mode'])).toEqual(
        countBy(failed, (r) => `${r.node}/${r.gpu_id}/${r.failure_mode}`),
      );

      // One duration per attempt, per node; the sum is the runtimes the Results JSON reports.
      expect(totals(samples, 'rigsweep_trial_duration_seconds_count', ['node'])).toEqual(countBy(results, (r) => r.node));
      const sums = totals(samples, 'rigsweep_trial_duration_seconds_sum', ['node']);
      for (const node of nodes) {
        const runtime = results.filter((r) => r.node === node.name).reduce((sum, r) => sum + r.runtime, 0);
        expect(sums[node.name]).toBeCloseTo(runtime, 1);
      }
      expect(totals(samples, 'rigsweep_trial_duration_seconds_bucket', ['node'], { le: '+Inf' })).toEqual(countBy(results, (r) => r.node));

      // Resets before every batch but the first, on every rig (localhost is never reset).
      expect(run.results!.batches).toBe(3);
      const resets = Object.fromEntries(rigs.rigs.map((rig) => [`${rig.address}/true`, 2]));
      expect(totals(samples, 'rigsweep_node_resets', ['node', 'ok'])).toEqual(resets);
      for (const rig of rigs.rigs) expect(readCalls(rig.callsLog).filter((call) => call.tool === 'sudo')).toHaveLength(2);
      // Two cooldowns of 0.5 s, and every node back to "ok" once the sweep is done.
      const cooldowns = (suffix: string) => totals(samples, `rigsweep_cooldown_seconds_${suffix}`, ['workflowType']).trialSweep;
      expect([cooldowns('count'), cooldowns('sum')]).toEqual([2, 1]);
      expect(totals(samples, 'rigsweep_node_state', ['node', 'state'], { workflowType: 'trialSweep' })).toMatchObject(
        Object.fromEntries(
          nodes.flatMap((node) => [
            [`${node.name}/ok`, 1],
            [`${node.name}/running`, 0],
            [`${node.name}/cooling down`, 0],
          ]),
        ),
      );

      // The SDK's own metrics come out of the same endpoint, with its temporal_ prefix.
      const names = new Set(samples.map((s) => s.name));
      for (const name of ['temporal_worker_task_slots_available', 'temporal_activity_execution_latency_count', 'temporal_workflow_completed'])
        expect(names).toContain(name);
      expect(totals(samples, 'temporal_activity_execution_latency_count', ['activity_type'])['runJob']).toBe(jobs.length);
    } finally {
      expect(await worker.stop()).toBe(0);
    }
  });

  it('refuses a metrics port that is not a port, or that another process holds, before it polls', async () => {
    const config = writeUserConfig(work, 'metrics-bad.json', { nodes: configNodes.slice(0, 1) });
    const notAPort = await runCli(['worker', '--config', config], env, { env: { RIGSWEEP_METRICS_PORT: 'ninety' } });
    expect([notAPort.exitCode, notAPort.stderr.trim()]).toEqual([2, 'rigsweep: RIGSWEEP_METRICS_PORT: not a port number (1-65535): ninety']);
    const port = await freePort();
    const holder: Server = await new Promise((resolve) => {
      const server = createServer().listen(port, '0.0.0.0', () => resolve(server));
    });
    try {
      const taken = await runCli(['worker', '--config', config], env, { env: { RIGSWEEP_METRICS_PORT: String(port) } });
      expect(taken.exitCode).toBe(2);
      expect(taken.stderr).toContain(`rigsweep: metrics port ${port}: Failed to start prometheus metrics exporter: Address already in use`);
    } finally {
      holder.close();
    }
  });
});

describe('workflow-side metrics, through the SDK', () => {
  it('record cooldowns and node states once each, however often the history replays', async () => {
    const port = await freePort();
    Runtime.install({ telemetryOptions: metricsTelemetry(port), logger: new DefaultLogger('WARN') });
    const address = inject('temporalAddress');
    const taskQueue = `it-metrics-wf-${process.pid}`;
    const nativeConnection = await NativeConnection.connect({ address });
    const connection = await Connection.connect({ address });
    try {
      const worker = await Worker.create({
        connection: nativeConnection,
        taskQueue,
        workflowsPath: join(__dirname, '..', 'fixtures', 'metrics-workflow.ts'),
        maxCachedWorkflows: 0,
      });
      const client = new Client({ connection });
      await worker.runUntil(client.workflow.execute(sweepMetricsProbe, { taskQueue, workflowId: `metrics-probe-${process.pid}`, args: ['rig-probe'] }));
      const samples = await scrape(port);
      // The TypeScript SDK names the tags it adds to custom metrics in camelCase (its own metrics say workflow_type).
      const cooldown = (suffix: string, where: Record<string, string> = {}) =>
        totals(samples, `rigsweep_cooldown_seconds_${suffix}`, ['workflowType'], where).sweepMetricsProbe;
      expect([cooldown('count'), cooldown('sum')]).toEqual([2, 2.5]);
      expect([cooldown('bucket', { le: '1' }), cooldown('bucket', { le: '2' })]).toEqual([1, 2]);
      expect(totals(samples, 'rigsweep_node_state', ['state'], { node: 'rig-probe' })).toEqual({
        ok: 0,
        running: 0,
        resetting: 0,
        'cooling down': 1,
        'left out': 0,
        excluded: 0,
        quarantined: 0,
      });
    } finally {
      await connection.close();
      await nativeConnection.close();
    }
  });
});
