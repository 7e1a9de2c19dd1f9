/**
 * Talks to rigsweep and Temporal the way a user does: the real `rigsweep` CLI and worker, the
 * official `temporal` CLI and a Temporal client against the test server.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { Client, Connection } from '@temporalio/client';
import type { temporal } from '@temporalio/proto';
import { findTemporalCli } from '../../src/cli/dev-server';
import type { ResultsJson } from '../../src/shared/results';
import type { trialSweep } from '../../src/workflows/trial-sweep';
import { type ProcessRun, runProcess } from './run-process';

export const CLI = resolve(__dirname, '..', '..', 'bin', 'rigsweep.js');

export interface CliRun extends ProcessRun {
  /** The Results JSON printed after `Results JSON:` (undefined when none was printed). */
  results?: ResultsJson;
  /** The plan printed after `Dry run JSON:` by `plan` and `--dry-run` (undefined when none was printed). */
  dryRun?: DryRunJson;
}

/** What `rigsweep plan` prints after `Dry run JSON:`, as far as the tests read it. */
export interface DryRunJson {
  status: string;
  run_id: string;
  workflow_id: string;
  total_jobs: number;
  eta_seconds: number;
  expected_trial_seconds: number;
  batches: number;
  assignments: Record<string, { job_id: string; batch: number; gpu_id: number; planned_start_s: number; planned_end_s: number }[]>;
}

/** The JSON after `marker`, the last thing on stdout; undefined when the marker is not there. */
function jsonAfter<T>(stdout: string, marker: string): T | undefined {
  const at = stdout.indexOf(marker);
  return at >= 0 ? (JSON.parse(stdout.slice(at + marker.length)) as T) : undefined;
}

export interface CliEnv {
  temporalAddress: string;
  taskQueue: string;
  home: string;
}

/** `rigsweep run|start` of a jobs file with the paths kept as the jobs name them, as most tests start a sweep. */
export function sweepArgs(command: 'run' | 'start', jobsFile: string, configFile: string, outputDir: string): string[] {
  return [command, '--jobs-file', jobsFile, '--preserve-paths', '--config', configFile, '--output-dir', outputDir];
}

/** Runs `rigsweep <args>` as a user would, with its own HOME (ssh keys, known_hosts). */
export async function runCli(
  args: string[],
  env: CliEnv,
  options: { cwd?: string; timeoutMs?: number; env?: NodeJS.ProcessEnv; onSpawn?: (child: ChildProcess) => void } = {},
): Promise<CliRun> {
  const childEnv: NodeJS.ProcessEnv = {
    ...process.env,
    ...options.env,
    HOME: env.home,
    TEMPORAL_ADDRESS: env.temporalAddress,
    RIGSWEEP_TASK_QUEUE: env.taskQueue,
  };
  delete childEnv.SSH_CONNECTION; // the fake trial reads it to tell rigs from localhost
  delete childEnv.SSH_AUTH_SOCK; // the harness key file is the only credential
  const run = await runProcess(process.execPath, [CLI, ...args], {
    cwd: options.cwd,
    env: childEnv,
    timeoutMs: options.timeoutMs ?? 180_000,
    onSpawn: options.onSpawn,
  });
  return { ...run, results: jsonAfter<ResultsJson>(run.stdout, 'Results JSON:\n'), dryRun: jsonAfter<DryRunJson>(run.stdout, 'Dry run JSON:\n') };
}

/** A running `rigsweep worker` started by `startWorkerProcess`. */
export interface WorkerProcess {
  pid: number;
  stderr(): string;
  /** SIGINT (after a SIGCONT, should it be frozen), as an operator's Ctrl-C; resolves with the exit code. */
  stop(): Promise<number | null>;
  /** SIGSTOP: the worker holds still, its connections open, as a hung machine would. */
  freeze(): void;
  /** SIGCONT after `freeze`. */
  thaw(): void;
  /** SIGKILL, as a crash; resolves once it has exited, with the signal that ended it (null if it had exited by itself). */
  kill(): Promise<NodeJS.Signals | null>;
}

/**
 * A long-running `rigsweep worker`, as an operator starts one; stopped with SIGINT. `args` are
 * further worker flags, `env` further environment (e.g. RIGSWEEP_METRICS_PORT); `pid` lets perf
 * runs read the worker's memory from /proc. `enter` runs it elsewhere — in a worker host
 * (./hosts): the command prefix that enters it, given `cwd` as the host sees it.
 */
export async function startWorkerProcess(
  configFile: string,
  env: CliEnv,
  cwd: string,
  options: { args?: string[]; env?: NodeJS.ProcessEnv; enter?: (cwd: string) => string[] } = {},
): Promise<WorkerProcess> {
  const worker = [process.execPath, CLI, 'worker', '--config', configFile, ...(options.args ?? [])];
  const [command, ...args] = options.enter ? [...options.enter(cwd), ...worker] : worker;
  const child = spawn(command, args, {
    cwd: options.enter ? undefined : cwd,
    env: {
      ...process.env,
      ...options.env,
      HOME: env.home,
      TEMPORAL_ADDRESS: env.temporalAddress,
      RIGSWEEP_TASK_QUEUE: env.taskQueue,
      SSH_CONNECTION: '',
      SSH_AUTH_SOCK: '',
    },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolvePromise) =>
    child.once('exit', (code, signal) => resolvePromise({ code, signal })),
  );
  let stderr = '';
  await new Promise<void>((resolvePromise, reject) => {
    const timer = setTimeout(() => reject(new Error(`worker did not start:\n${stderr}`)), 60_000);
    child.stderr.on('data', (chunk) => {
      stderr += chunk;
      if (stderr.includes('rigsweep worker polling')) {
        clearTimeout(timer);
        resolvePromise();
      }
    });
    child.once('exit', () => reject(new Error(`worker exited:\n${stderr}`)));
  });
  const running = () => child.exitCode === null && child.signalCode === null;
  const signal = (name: NodeJS.Signals) => {
    if (running()) child.kill(name);
  };
  return {
    pid: child.pid!,
    stderr: () => stderr,
    stop: () => {
      signal('SIGCONT');
      signal('SIGINT');
      return exited.then(({ code }) => code);
    },
    freeze: () => signal('SIGSTOP'),
    thaw: () => signal('SIGCONT'),
    kill: async () => {
      signal('SIGKILL');
      return (await exited).signal;
    },
  };
}

/** What `temporal workflow start --output json` prints. */
export interface TemporalCliStarted {
  runId: string;
}

/** What `temporal workflow execute|result --output json` prints for a sweep. */
export interface TemporalCliResult {
  result: ResultsJson;
}

/** Runs the official `temporal` CLI against the test server. */
export function temporalCli(args: string[], env: CliEnv): Promise<CliRun> {
  return runProcess(findTemporalCliForTests(), [...args, '--address', env.temporalAddress]);
}

function findTemporalCliForTests(): string {
  const cli = findTemporalCli();
  if (!cli) throw new Error('temporal CLI not found (scripts/setup.sh installs it)');
  return cli;
}

/**
 * With RIGSWEEP_RECORD_HISTORIES=<dir>, saves a finished sweep's event history there: the replay
 * tests run the current workflow code against these real histories, so a change that would break
 * running sweeps fails a test first. Refresh them with `npm run record-histories`.
 */
export async function recordHistory(env: CliEnv, workflowId: string, name: string, runId?: string): Promise<void> {
  const dir = process.env.RIGSWEEP_RECORD_HISTORIES;
  if (!dir) return;
  const shown = await temporalCli(['workflow', 'show', '--workflow-id', workflowId, ...(runId ? ['--run-id', runId] : []), '--output', 'json'], env);
  if (shown.exitCode !== 0) throw new Error(`cannot record the history of ${workflowId}: ${shown.stderr}`);
  mkdirSync(dir, { recursive: true });
  // Compact: a history is data for the replay test, not something to read line by line.
  writeFileSync(join(dir, `${name}.json`), JSON.stringify(JSON.parse(shown.stdout)) + '\n');
}

/** The sweep's Results JSON through a Temporal client, following a continue-as-new chain. */
export async function sweepResult(env: CliEnv, workflowId: string): Promise<ResultsJson> {
  const connection = await Connection.connect({ address: env.temporalAddress });
  try {
    return await new Client({ connection }).workflow.getHandle<typeof trialSweep>(workflowId).result();
  } finally {
    await connection.close();
  }
}

/** One run of a workflow id as its own history tells it. */
export interface RunOfChain {
  runId: string;
  events: number;
  /** How the run ended, read from its last event; `open` while it runs. */
  closedBy: 'continued-as-new' | 'completed' | 'failed' | 'other' | 'open';
}

/**
 * Every run of a workflow id, oldest first, read from the histories themselves: each run's first
 * event names the run it continues. Visibility (`workflow list`) lags a close, so a count taken
 * there right after a sweep ends may miss a run; the histories cannot.
 */
export async function runChain(env: CliEnv, workflowId: string): Promise<RunOfChain[]> {
  const connection = await Connection.connect({ address: env.temporalAddress });
  try {
    const client = new Client({ connection });
    const chain: RunOfChain[] = [];
    let runId: string | undefined = (await client.workflow.getHandle(workflowId).describe()).runId;
    while (runId) {
      const history: temporal.api.history.v1.IHistory = await client.workflow.getHandle(workflowId, runId).fetchHistory();
      const events = history.events ?? [];
      chain.unshift({ runId, events: events.length, closedBy: howRunEnded(events.at(-1)) });
      runId = events[0]?.workflowExecutionStartedEventAttributes?.continuedExecutionRunId ?? undefined;
    }
    return chain;
  } finally {
    await connection.close();
  }
}

type HistoryEvent = temporal.api.history.v1.IHistoryEvent;

function howRunEnded(last: HistoryEvent | undefined): RunOfChain['closedBy'] {
  if (last?.workflowExecutionContinuedAsNewEventAttributes) return 'continued-as-new';
  if (last?.workflowExecutionCompletedEventAttributes) return 'completed';
  if (last?.workflowExecutionFailedEventAttributes) return 'failed';
  if (last?.workflowExecutionTerminatedEventAttributes || last?.workflowExecutionCanceledEventAttributes || last?.workflowExecutionTimedOutEventAttributes)
    return 'other';
  return 'open';
}

/**
 * `temporal workflow list --query`, asked again for up to ten seconds until `found` holds of what
 * it lists: visibility catches up with a sweep's last search-attribute update a little after the
 * sweep ends. Returns the last listing; the test judges it.
 */
export async function listWorkflows<T = { execution: { workflowId: string; runId: string } }>(
  env: CliEnv,
  query: string,
  found: (listed: T[]) => boolean,
): Promise<T[]> {
  for (let attempt = 0; ; attempt++) {
    const listed = await temporalCli(['workflow', 'list', '--query', query, '--output', 'json'], env);
    if (listed.exitCode !== 0) throw new Error(`temporal workflow list --query '${query}' failed: ${listed.stderr}`);
    const workflows = JSON.parse(listed.stdout || '[]') as T[];
    if (found(workflows) || attempt === 20) return workflows;
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
}
