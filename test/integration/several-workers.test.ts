/**
 * Several workers on one sweep: a named full worker is the results host, a trials-only worker
 * shares the rigs. Killed -9 mid-sweep, the results host holds the sweep — which says it waits
 * for it — while the trials-only worker goes on with the rig's trials; back under the same name,
 * it takes the sweep on. Read back from the run folder, the rigs' records and the history: where
 * each piece of work ran, and that every output reached the results host.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { temporal } from '@temporalio/proto';
import { Client, Connection } from '@temporalio/client';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { JobResult } from '../../src/shared/results';
import type { TestRigs } from '../harness/rigs';
import { runCli, startWorkerProcess, sweepResult, temporalCli, type CliEnv } from '../harness/cli';
import { collectRuns, runFolder, startTestCluster, waitUntil, writeJobs, writeUserConfig, type NodeUnderTest } from '../harness/sweep-fixture';

let rigs: TestRigs;
let env: CliEnv;
let work: string;
let nodes: NodeUnderTest[];
let config: string;
const stops: (() => Promise<unknown>)[] = [];

beforeAll(async () => {
  const cluster = await startTestCluster('workers', inject('temporalAddress'), { rigCount: 1, localGpus: 1, rigGpus: 2, stagger: 0 });
  ({ work, rigs, env, nodes } = cluster);
  config = writeUserConfig(work, 'distributed_config.json', { nodes: cluster.configNodes, job_batching: { enabled: false } });
});

afterAll(async () => {
  for (const stop of stops) await stop().catch(() => undefined);
  await rigs?.stop();
});

/** A worker process kept for afterAll; `name` makes it a full worker of that name. */
async function worker(args: string[]) {
  const started = await startWorkerProcess(config, env, work, { args });
  stops.push(() => started.stop());
  return started;
}

describe('several workers', () => {
  it('refuses a second full worker of a name that already polls, and names the name', async () => {
    const first = await worker(['--name', 'twin']);
    const second = await runCli(['worker', '--config', config, '--name', 'twin'], env);
    expect(second.exitCode).toBe(2);
    expect(second.stderr).toContain('a worker named "twin" already polls');
    // Gone, so the next sweep's first full worker is the one the test names.
    await first.stop();
  });

  it('keeps files and localhost work on the results host, shares the rigs, and waits for the results host while it is away', async () => {
    const count = 16;
    const jobs = Array.from({ length: count }, (_, i) => ({
      job_id: `sw${i}`,
      script: 'fake_trial.py',
      args: ['--job', `sw${i}`, '--sleep', '1.5', '--output', `out/sw${i}.json`],
      expected_output: `out/sw${i}.json`,
    }));
    const resultsHost = await worker(['--name', 'results-box']);
    const trialsOnly = await worker(['--trials-only']);
    const outputDir = join(work, 'results');
    const id = 'several-workers';
    const input = { jobsFile: writeJobs(work, 'sw_jobs.json', jobs), configFile: config, outputDir, preservePaths: true };
    const started = await temporalCli(
      ['workflow', 'start', '--type', 'trialSweep', '--task-queue', env.taskQueue, '--workflow-id', id, '--input', JSON.stringify(input)],
      env,
    );
    expect(started.exitCode, started.stderr).toBe(0);

    // The results host dies mid-sweep; the rig's trials go on with the trials-only worker.
    await waitUntil('four trials ended', () => collectRuns(nodes).filter((run) => run.jobId.startsWith('sw')).length >= 4, 60_000);
    process.kill(resultsHost.pid, 'SIGKILL');
    const killedAt = Date.now();
    let said = '';
    await waitUntil(
      'status says the sweep waits for its results host',
      async () => {
        said = (await runCli(['status', id], env)).stdout;
        return said.includes('waiting for the results host results-box: no answer');
      },
      60_000,
    ).catch((error: unknown) => {
      throw new Error(`${String(error)}; status said:\n${said}`);
    });
    const toldAfter = Date.now() - killedAt;
    await worker(['--name', 'results-box']);
    const results = await sweepResult(env, id);
    expect(results).toMatchObject({ status: 'complete', total_jobs: count, successful: count, failed: 0 });
    expect(toldAfter, said).toBeGreaterThanOrEqual(15_000); // not before its work has waited that long

    // Every record and every output in the results host's run folder.
    const folder = runFolder(outputDir, id);
    const records = readFileSync(join(folder, 'results.jsonl'), 'utf8')
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as JobResult);
    expect(records.map((record) => record.job_id).sort()).toEqual(jobs.map((job) => job.job_id).sort());
    for (const record of records) {
      expect(record.local_output, record.job_id).toBeTruthy();
      expect(existsSync(record.local_output!), record.local_output!).toBe(true);
      // The copy is the trial's own output, byte for byte, as it is on the node that ran it.
      const onNode = join(nodes.find((node) => node.name === record.node)!.workDir, record.output_file!);
      expect(readFileSync(record.local_output!, 'utf8'), record.job_id).toBe(readFileSync(onNode, 'utf8'));
    }

    // Where each piece of work ran, from the history: the trials-only worker only ever ran rig work.
    const ran = await whoRanWhat(id);
    const byTrialsOnly = ran.filter((activity) => activity.identity.startsWith(`${trialsOnly.pid}@`));
    expect(byTrialsOnly.length, JSON.stringify(ran)).toBeGreaterThan(0);
    for (const activity of byTrialsOnly)
      expect(activity.what, JSON.stringify(activity)).toMatch(/^(runJob|probeNode|resetNode|warmupGpu|withdrawWaitingJob) rig/);
    const rigOutputsFetched = ran.filter((activity) => activity.what.startsWith('collectOutput'));
    expect(rigOutputsFetched.length).toBeGreaterThan(0);
    for (const activity of ran.filter((a) => !a.what.includes(' rig')))
      expect(activity.identity, JSON.stringify(activity)).not.toMatch(new RegExp(`^${trialsOnly.pid}@`));
  });
});

/** Each started activity of the sweep's runs: its type, `rig` or `localhost` when it names a node, and the worker that ran it. */
async function whoRanWhat(workflowId: string): Promise<{ what: string; identity: string }[]> {
  const connection = await Connection.connect({ address: env.temporalAddress });
  try {
    const handle = new Client({ connection }).workflow.getHandle(workflowId);
    const events = (await handle.fetchHistory()).events ?? [];
    const scheduled = new Map<string, string>();
    const ran: { what: string; identity: string }[] = [];
    for (const event of events) {
      const attributes = event.activityTaskScheduledEventAttributes;
      if (attributes) {
        const input = JSON.parse(Buffer.from(attributes.input?.payloads?.[0]?.data ?? []).toString('utf8') || 'null') as {
          node?: { isLocal: boolean };
          isLocal?: boolean;
        } | null;
        const node = input?.node ?? (typeof input?.isLocal === 'boolean' ? (input as { isLocal: boolean }) : undefined);
        const where = node ? (node.isLocal ? ' localhost' : ' rig') : '';
        scheduled.set(String(event.eventId), `${attributes.activityType?.name}${where}`);
      }
      if (event.eventType === temporal.api.enums.v1.EventType.EVENT_TYPE_ACTIVITY_TASK_STARTED) {
        const started = event.activityTaskStartedEventAttributes!;
        ran.push({ what: scheduled.get(String(started.scheduledEventId)) ?? '?', identity: started.identity ?? '' });
      }
    }
    return ran;
  } finally {
    await connection.close();
  }
}
