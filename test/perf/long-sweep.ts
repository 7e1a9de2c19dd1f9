/**
 * Perf (d): one sweep of 10,000 instant trials (`--sleep 0`) on 14 slots (localhost 2 GPUs + 3 rigs
 * x 4, no stagger, no batching, so jobs come in segments of 100 and the sweep continues as new
 * between segments once a run passes 5,000 events), served by a `rigsweep worker` process and
 * started with `rigsweep start --trials`. It reports wall time, runs, history events per run, the
 * largest payload, the worker's RSS against jobs done, the SSH connections each rig saw, and reads
 * back from the rigs that every trial ran exactly once. RIGSWEEP_PERF_LONG_TRIALS sets another
 * trial count (for an estimate before the full run).
 */
import { join } from 'node:path';
import { Client, Connection } from '@temporalio/client';
import type { ResultsJson } from '../../src/shared/results';
import type { TestRigs } from '../harness/rigs';
import { runCli, startWorkerProcess, type CliEnv } from '../harness/cli';
import { collectRuns, runFolder, writeUserConfig, type NodeUnderTest } from '../harness/sweep-fixture';
import { median, met } from './figures';
import { chainStats } from './history-stats';
import { type ConnectionSampler, connectionsCell, sampleSshConnections } from './ssh-connections';
import { countLines, rssAfter, rssByJobs, type RssSample, sampleRss } from './worker-memory';

export const LONG_TRIALS = Number(process.env.RIGSWEEP_PERF_LONG_TRIALS ?? 10_000);
const RSS_BASELINE_JOBS = Math.min(1000, LONG_TRIALS / 10);
const TARGET = { events: 10_000, payloadKb: 512, rssRatio: 1.5 };

export interface LongSweepSetup {
  rigs: TestRigs;
  env: CliEnv;
  work: string;
  nodes: NodeUnderTest[];
  /** localhost 2 GPUs + the rigs x 4, stagger 0, as the config names them. */
  configNodes: Record<string, unknown>[];
}

/** Runs the sweep and returns its table rows. */
export async function longSweep(setup: LongSweepSetup): Promise<[string, string][]> {
  const { rigs, work } = setup;
  const env = { ...setup.env, taskQueue: `${setup.env.taskQueue}-long` };
  const config = writeUserConfig(work, 'long-sweep.json', {
    nodes: setup.configNodes,
    job_batching: { enabled: false },
    preflight: { enabled: false },
    trial_command: 'python3 fake_trial.py --job long_{trial_id} --sleep 0 --output out/{run_id}/{trial_id}.json --gpu-id {gpu}',
    trial_output: 'out/{run_id}/{trial_id}.json',
  });
  const outputDir = join(work, 'out-long');
  const worker = await startWorkerProcess(config, env, work);
  let sweepId: string | undefined;
  const resultsFile = () => {
    try {
      return sweepId ? join(runFolder(outputDir, sweepId), 'results.jsonl') : undefined;
    } catch {
      return undefined; // not planned yet
    }
  };
  const memory = sampleRss(worker.pid, () => countLines(resultsFile()));
  const connections = sampleSshConnections(rigs);
  const started = Date.now();
  let finished: Awaited<ReturnType<typeof startAndWait>>;
  let samples: RssSample[];
  let sampled: ReturnType<ConnectionSampler['stop']>;
  try {
    finished = await startAndWait(env, config, outputDir, work, (id) => (sweepId = id));
  } finally {
    // The last RSS sample is the worker at the end of the sweep, before it stops.
    samples = memory.stop();
    sampled = connections.stop();
    await worker.stop();
  }
  const wall = (finished.finishedAt - started) / 1000;
  const { workflowId, result } = finished;

  const runs = collectRuns(setup.nodes).filter((run) => run.jobId.startsWith('long_'));
  const chain = await chainStats(env, workflowId);
  const events = chain.runs.map((run) => run.events);
  const baseline = rssAfter(samples, RSS_BASELINE_JOBS);
  const end = samples.at(-1)!;
  const ratio = baseline ? end.rssMb / baseline.rssMb : NaN;
  const payloadKb = chain.largest[0].bytes / 1024;
  const nextLargest = chain.largest
    .slice(1, 4)
    .map((p) => `${(p.bytes / 1024).toFixed(1)} KB ${p.eventType}`)
    .join(', ');
  const label = LONG_TRIALS.toLocaleString('en');
  return [
    [
      `(d) ${label} trials of --sleep 0 on 14 slots, unbatched: wall`,
      `${wall.toFixed(0)} s = ${(wall / 60).toFixed(1)} min (${(LONG_TRIALS / wall).toFixed(1)} trials/s, ${((wall * 14) / LONG_TRIALS).toFixed(2)} s per job per slot)`,
    ],
    [
      '(d) completes, every trial once',
      `${onceEach(runs, result)}; Results JSON: ${result.status}, ${result.successful}/${result.total_jobs} successful, results.jsonl ${countLines(resultsFile())} lines`,
    ],
    [
      '(d) runs; history events per run, max / median',
      `${chain.runs.length} runs; ${Math.max(...events)} / ${median(events)} (< ${TARGET.events.toLocaleString('en')}: ${met(Math.max(...events) < TARGET.events)})${chain.mismatches ? `; ${chain.mismatches} runs list another length than they hold` : ''}`,
    ],
    [
      '(d) largest payload in any run',
      `${payloadKb.toFixed(1)} KB in ${chain.largest[0].eventType} (≤ ${TARGET.payloadKb} KB: ${met(payloadKb <= TARGET.payloadKb)}); next: ${nextLargest}`,
    ],
    [
      `(d) worker RSS after ${RSS_BASELINE_JOBS} jobs / at the end (MB)`,
      `${baseline?.rssMb.toFixed(0)} / ${end.rssMb.toFixed(0)} = ${ratio.toFixed(2)} (≤ ${TARGET.rssRatio}: ${met(ratio <= TARGET.rssRatio)}); peak ${Math.max(...samples.map((s) => s.rssMb)).toFixed(0)}, at start ${samples[0].rssMb.toFixed(0)}`,
    ],
    ['(d) worker RSS by jobs done (MB)', rssByJobs(samples, Math.max(1, Math.round(LONG_TRIALS / 10)), LONG_TRIALS)],
    ['(d) SSH connections per rig: max seen ≤ ceil(jobs at once / MaxSessions) + 1', connectionsCell(rigs, sampled, runs)],
  ];
}

/** `rigsweep start --trials`, then the sweep's result through a Temporal client (it follows continue-as-new). */
async function startAndWait(
  env: CliEnv,
  config: string,
  outputDir: string,
  work: string,
  onId: (id: string) => void,
): Promise<{ workflowId: string; result: ResultsJson; finishedAt: number }> {
  const start = await runCli(['start', '--trials', String(LONG_TRIALS), '--config', config, '--output-dir', outputDir], env, { cwd: work });
  if (start.exitCode !== 0) throw new Error(`rigsweep start failed: ${start.stderr}`);
  const workflowId = start.stdout.trim().split('\n').at(-1)!;
  onId(workflowId);
  const connection = await Connection.connect({ address: env.temporalAddress });
  try {
    const result = (await new Client({ connection }).workflow.getHandle(workflowId).result()) as ResultsJson;
    return { workflowId, result, finishedAt: Date.now() };
  } finally {
    await connection.close();
  }
}

/** "10000 distinct job ids, 0 run twice, 0 without an end", from the rigs' trial records. */
function onceEach(runs: ReturnType<typeof collectRuns>, result: ResultsJson): string {
  const ids = new Set(runs.map((run) => run.jobId));
  const twice = runs.length - ids.size;
  const unended = runs.filter((run) => !Number.isFinite(run.end)).length;
  const ok = ids.size === LONG_TRIALS && twice === 0 && unended === 0 && result.successful === LONG_TRIALS;
  return `${met(ok)}: ${ids.size} distinct job ids on the rigs, ${twice} run twice, ${unended} without an end`;
}
