/**
 * The time-skipping test server harness works offline: a workflow that sleeps 2 hours and then
 * runs an activity finishes in seconds, and no Java process is left behind.
 */
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { temporal } from '@temporalio/proto';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { Worker } from '@temporalio/worker';
import { afterAll, beforeAll, expect, test } from 'vitest';
import type { sleepTwoHoursThenStamp, TimeSkippingActivities } from '../fixtures/time-skipping-workflow';
import { serverPort, startTimeSkipping, stopTimeSkipping, testServerPids } from '../harness/time-skipping';

const TWO_HOURS_MS = 2 * 60 * 60 * 1000;

let env: TestWorkflowEnvironment | undefined;

beforeAll(async () => {
  env = await startTimeSkipping();
});

afterAll(async () => {
  // Only reached when the test failed before stopping the env itself.
  if (env) await stopTimeSkipping(env);
});

test('a 2-hour sleep then an activity completes in far less real time, and stop leaves no Java process', async () => {
  const current = env!;
  const port = serverPort(current);
  expect(testServerPids(port)).toHaveLength(1);

  const taskQueue = `time-skipping-${randomUUID()}`;
  const activities: TimeSkippingActivities = { stamp: (label) => Promise.resolve(`stamped ${label}`) };
  const worker = await Worker.create({
    connection: current.nativeConnection,
    taskQueue,
    workflowsPath: join(__dirname, '..', 'fixtures', 'time-skipping-workflow.ts'),
    activities,
  });

  const serverStart = await current.currentTimeMs();
  const realStart = Date.now();
  const workflowId = `time-skipping-${randomUUID()}`;
  const result = await worker.runUntil(
    current.client.workflow.execute<typeof sleepTwoHoursThenStamp>('sleepTwoHoursThenStamp', { taskQueue, workflowId, args: ['probe'] }),
  );
  const realMs = Date.now() - realStart;
  const serverMs = (await current.currentTimeMs()) - serverStart;

  expect(result).toBe('stamped probe');
  expect(serverMs).toBeGreaterThanOrEqual(TWO_HOURS_MS); // the timer really ran on the server's clock
  expect(realMs).toBeLessThan(60_000); // a generous bound, not a benchmark

  const history = await current.client.workflow.getHandle(workflowId).fetchHistory();
  const types = (history.events ?? []).map((event) => event.eventType);
  expect(types).toContain(temporal.api.enums.v1.EventType.EVENT_TYPE_TIMER_FIRED);
  expect(types).not.toContain(temporal.api.enums.v1.EventType.EVENT_TYPE_WORKFLOW_TASK_FAILED);

  env = undefined;
  await stopTimeSkipping(current);
  expect(testServerPids(port)).toEqual([]);
});
