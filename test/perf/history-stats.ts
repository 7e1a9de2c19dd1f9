/**
 * Perf: what a long sweep leaves in Temporal — every run of its continue-as-new chain with its
 * history length, and the largest payload any event of any run carried (Temporal warns at 512 KB
 * and refuses 2 MB), read with the official `temporal` CLI like an operator would.
 */
import { temporalCli, type CliEnv } from '../harness/cli';

export interface RunHistory {
  runId: string;
  status: string;
  events: number;
}

export interface LargestPayload {
  bytes: number;
  eventType: string;
  runId: string;
}

/** Every run of the workflow id, once all of them are closed in visibility (it lags a close a little). */
export async function listRuns(env: CliEnv, workflowId: string): Promise<RunHistory[]> {
  for (let attempt = 0; ; attempt++) {
    const listed = await temporalCli(['workflow', 'list', '--query', `WorkflowId = "${workflowId}"`, '--output', 'json'], env);
    if (listed.exitCode !== 0) throw new Error(`temporal workflow list failed: ${listed.stderr}`);
    const executions = JSON.parse(listed.stdout || '[]') as { execution: { runId: string }; status: string; historyLength: string }[];
    const runs = executions.map((e) => ({ runId: e.execution.runId, status: e.status, events: Number(e.historyLength) }));
    if (runs.every((run) => !run.status.includes('RUNNING')) || attempt === 20) return runs;
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
}

/** Payloads are objects with base64 `data` next to `metadata`; yields each one's decoded size. */
function* payloadSizes(value: unknown): Generator<number> {
  if (Array.isArray(value)) {
    for (const item of value) yield* payloadSizes(item);
  } else if (value && typeof value === 'object') {
    const record = value as Record<string, unknown>;
    if (typeof record.data === 'string' && record.metadata && typeof record.metadata === 'object') yield Buffer.from(record.data, 'base64').length;
    else for (const child of Object.values(record)) yield* payloadSizes(child);
  }
}

/** One run's history: its event count as the history itself says, and its largest payload per event type. */
export async function payloadsOfRun(env: CliEnv, workflowId: string, runId: string): Promise<{ events: number; largestByType: Map<string, number> }> {
  const shown = await temporalCli(['workflow', 'show', '--workflow-id', workflowId, '--run-id', runId, '--output', 'json'], env);
  if (shown.exitCode !== 0) throw new Error(`temporal workflow show ${workflowId} ${runId} failed: ${shown.stderr}`);
  const events = (JSON.parse(shown.stdout) as { events: { eventType: string }[] }).events;
  const largestByType = new Map<string, number>();
  for (const event of events) {
    const type = event.eventType.replace(/^EVENT_TYPE_/, '');
    for (const bytes of payloadSizes(event)) largestByType.set(type, Math.max(bytes, largestByType.get(type) ?? 0));
  }
  return { events: events.length, largestByType };
}

export interface ChainStats {
  runs: RunHistory[];
  /** The largest payloads of the chain, one per event type, largest first. */
  largest: LargestPayload[];
  /** Runs whose listed history length differs from the events `workflow show` returned. */
  mismatches: number;
}

/** Runs, history lengths and the largest payloads over the whole continue-as-new chain. */
export async function chainStats(env: CliEnv, workflowId: string): Promise<ChainStats> {
  const runs = await listRuns(env, workflowId);
  const byType = new Map<string, LargestPayload>();
  let mismatches = 0;
  for (const run of runs) {
    const found = await payloadsOfRun(env, workflowId, run.runId);
    if (found.events !== run.events) mismatches += 1;
    for (const [eventType, bytes] of found.largestByType) {
      if (bytes > (byType.get(eventType)?.bytes ?? -1)) byType.set(eventType, { bytes, eventType, runId: run.runId });
    }
  }
  return { runs, largest: [...byType.values()].sort((a, b) => b.bytes - a.bytes), mismatches };
}
