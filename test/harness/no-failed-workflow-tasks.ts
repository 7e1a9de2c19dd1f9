/**
 * Every test that runs a workflow asserts that no workflow task of it failed. A failed workflow
 * task — an unhandled promise rejection, a non-determinism, a bug thrown out of workflow code — is
 * retried by Temporal for ever while the sweep looks merely slow, so a test could pass on the
 * outcome it waited for and still hide one. After each test, every workflow run started on the
 * test server since the file began is read back and its history searched.
 */
import { Client, Connection } from '@temporalio/client';
import { temporal } from '@temporalio/proto';
import { afterAll, afterEach, beforeAll, expect, inject } from 'vitest';

const TASK_FAILED = temporal.api.enums.v1.EventType.EVENT_TYPE_WORKFLOW_TASK_FAILED;
const UNHANDLED_COMMAND = temporal.api.enums.v1.WorkflowTaskFailedCause.WORKFLOW_TASK_FAILED_CAUSE_UNHANDLED_COMMAND;

let connection: Connection | undefined;
let since = new Date();
/** Runs already read back after they closed: they cannot change any more. */
const closedAndClean = new Set<string>();

beforeAll(() => {
  since = new Date();
});

afterEach(async () => {
  const address = inject('temporalAddress');
  if (!address) return;
  connection ??= await Connection.connect({ address });
  const client = new Client({ connection });
  const failures: string[] = [];
  for await (const run of client.workflow.list({ query: `StartTime >= "${since.toISOString()}"` })) {
    const key = `${run.workflowId}/${run.runId}`;
    if (closedAndClean.has(key)) continue;
    const history = await client.workflow.getHandle(run.workflowId, run.runId).fetchHistory();
    for (const event of history.events ?? []) {
      if (event.eventType !== TASK_FAILED) continue;
      const attributes = event.workflowTaskFailedEventAttributes;
      // Temporal's protocol, not a failure of the code: a signal came in while the task completed the run; it is tried again.
      if (attributes?.cause === UNHANDLED_COMMAND) continue;
      failures.push(`${key}: workflow task failed (event ${String(event.eventId)}): ${attributes?.failure?.message ?? attributes?.cause}`);
    }
    if (run.status.name !== 'RUNNING' && failures.length === 0) closedAndClean.add(key);
  }
  expect(failures, 'no workflow task may fail').toEqual([]);
});

afterAll(async () => {
  await connection?.close();
});
