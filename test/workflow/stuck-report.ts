/**
 * The workflow tier's report of a sweep that does not end: its own words (the progress query),
 * its pending activities, both workers' status, its last history events, and what the simulated
 * nodes and activities still hold for it — enough to tell a stuck workflow from a lost task.
 */
import type { WorkflowHandle } from '@temporalio/client';
import { temporal } from '@temporalio/proto';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import type { Worker } from '@temporalio/worker';
import { progressQuery } from '../../src/shared/names';
import type { SweepProgress } from '../../src/shared/progress';
import type { SimCluster } from '../sim/cluster';

const TASK_FAILED = temporal.api.enums.v1.EventType.EVENT_TYPE_WORKFLOW_TASK_FAILED;

/** What a sweep that does not end is doing: its own words, its pending activities, its processes. */
export async function whyStuck({
  handle,
  cluster,
  id,
  env,
  workers,
  waitingWork,
}: {
  handle: WorkflowHandle;
  cluster: SimCluster;
  id: string;
  env: TestWorkflowEnvironment;
  workers: { workflow: Worker; activity: Worker[] };
  waitingWork: (workflowId: string) => number[];
}): Promise<string> {
  const within = <T>(work: Promise<T>, fallback: T) =>
    Promise.race([work.catch(() => fallback), new Promise<T>((resolve) => setTimeout(() => resolve(fallback), 5000))]);
  const described = await within(handle.describe(), undefined);
  const progress: SweepProgress | string = await within<SweepProgress | string>(
    handle.query(progressQuery, Number.MAX_SAFE_INTEGER),
    'no answer to the progress query',
  );
  const summary =
    typeof progress === 'string'
      ? progress
      : {
          phase: progress.phase,
          batch: progress.batch,
          done: progress.done,
          running: progress.running,
          nodes: progress.nodes.map((n) => `${n.name}:${n.state}`),
        };
  const pending = (described?.raw.pendingActivities ?? []).map(
    (a) =>
      `${a.activityType?.name}#${a.activityId} ${temporal.api.enums.v1.PendingActivityState[a.state ?? 0]} attempt ${a.attempt} scheduled ${String(a.scheduledTime?.seconds)} started ${String(a.lastStartedTime?.seconds)} last failure ${a.lastFailure?.message}`,
  );
  const serverNow = await within(
    env.currentTimeMs().then((ms) => ms / 1000),
    undefined,
  );
  const history = await within(handle.fetchHistory(), undefined);
  const events = history?.events ?? [];
  const failures = events.filter((event) => event.eventType === TASK_FAILED).map((event) => event.workflowTaskFailedEventAttributes?.failure?.message);
  const last = events.slice(-30).map(describedEvent);
  if (failures.length) return `${id}: workflow task failed ${failures.length} times: ${failures[0]}; last events ${JSON.stringify(last)}`;
  return `${id} ${described?.status.name} (workflow worker ${JSON.stringify(workers.workflow.getStatus())}, activity workers ${JSON.stringify(workers.activity.map((worker) => worker.getStatus()))}, last events ${JSON.stringify(last)}, server time ${serverNow}): ${JSON.stringify(summary)} pending ${JSON.stringify(pending)} live ${JSON.stringify(cluster.live(id).map((p) => `${p.jobId}@${p.node}#${p.gpu}:${p.state}`))} activities waiting for works ${JSON.stringify(waitingWork(id))}; its processes ${JSON.stringify(cluster.processes.filter((p) => p.sweep === id).map((p) => `${p.work}:${p.jobId}/${p.attempt}@${p.node}#${p.gpu}:${p.state}`))}`;
}

/** One history event in a few words: its id, time, type and what it names. */
function describedEvent(event: temporal.api.history.v1.IHistoryEvent): string {
  const type = temporal.api.enums.v1.EventType[event.eventType ?? 0].replace('EVENT_TYPE_', '');
  const scheduled = event.activityTaskScheduledEventAttributes;
  const what = scheduled
    ? `${scheduled.activityType?.name}#${scheduled.activityId}`
    : (event.workflowExecutionSignaledEventAttributes?.signalName ?? event.timerStartedEventAttributes?.timerId ?? '');
  const at = Number(event.eventTime?.seconds ?? 0) % 100_000;
  return `${String(event.eventId)}@${at}s ${type} ${what}`.trim();
}
