/**
 * Several worker hosts, each a machine of its own — network, mount and UTS namespaces, its own
 * disk (test/harness/hosts.ts): hostA runs a full worker, named by default after its hostname,
 * the results host of every sweep here; hostB a trials-only worker. Sweeps are started with the
 * `temporal` CLI; workers are frozen and killed at moments the test chooses. Read back from
 * hostA's disk, the rigs' own records and the sweeps' histories: every record, output copy,
 * report and Results JSON is on the results host, every job has one final record, and no trial
 * started twice for one attempt.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { temporal } from '@temporalio/proto';
import { afterAll, afterEach, beforeAll, describe, expect, inject, it } from 'vitest';
import { encodePathPart } from '../../src/rigs/end-record';
import type { JobResult } from '../../src/shared/results';
import { CLI, runCli, sweepResult, temporalCli, type CliEnv, type WorkerProcess } from '../harness/cli';
import { startHosts, type TestHost, type TestHosts } from '../harness/hosts';
import { runProcess } from '../harness/run-process';
import { collectRuns, runFolder, startTestCluster, type TestCluster, type TrialRun, waitUntil, writeJobs, writeUserConfig } from '../harness/sweep-fixture';

let cluster: TestCluster;
let hosts: TestHosts;
let hostA: TestHost;
let hostB: TestHost;
/** The CLI's environment on this machine, with the server's address the hosts reach too. */
let env: CliEnv;
/** localhost (hostA's own GPU when it is the results host) and one rig of three GPUs. */
let config: string;
const workers: WorkerProcess[] = [];

beforeAll(async () => {
  cluster = await startTestCluster('hosts2', inject('temporalAddress'), { rigCount: 1, localGpus: 1, rigGpus: 3, stagger: 0 });
  hosts = await startHosts({
    names: ['hostA', 'hostB'],
    stateDir: join(cluster.work, 'hosts'),
    rigs: cluster.rigs,
    temporalAddress: inject('temporalAddress'),
  });
  [hostA, hostB] = hosts.hosts;
  env = { ...cluster.env, temporalAddress: hosts.temporalAddress };
  config = writeUserConfig(cluster.work, 'config.json', { nodes: cluster.configNodes, job_batching: { enabled: false } });
});

// Each test starts its own workers: a full worker named hostA left polling would refuse the next.
afterEach(async () => {
  for (const worker of workers.splice(0)) await worker.kill().catch(() => undefined);
});

afterAll(async () => {
  await hosts?.stop();
  await cluster?.rigs.stop();
});

/** hostA's full worker (its name: its hostname) or hostB's trials-only one, kept for afterAll. */
async function startWorker(host: TestHost, args: string[] = []): Promise<WorkerProcess> {
  const worker = await host.startWorker(config, env.taskQueue, { cwd: host.resultsDir, args });
  workers.push(worker);
  return worker;
}

const outputDir = () => join(hostA.resultsDir, 'out');

/** Starts `jobs` as a user's script would, with the `temporal` CLI; the input names no results host. */
async function startSweep(id: string, jobs: { job_id: string }[], into = outputDir()): Promise<void> {
  const input = { jobsFile: writeJobs(cluster.work, `${id}.json`, jobs), configFile: config, outputDir: into, preservePaths: true };
  const started = await temporalCli(
    ['workflow', 'start', '--type', 'trialSweep', '--task-queue', env.taskQueue, '--workflow-id', id, '--input', JSON.stringify(input)],
    env,
  );
  expect(started.exitCode, started.stderr).toBe(0);
}

/** Jobs `<prefix><i>` of the fake trial; `hold` ones go on only once the test releases them. */
function jobsOf(prefix: string, count: number, sleep: string, hold = false) {
  return Array.from({ length: count }, (_, i) => ({
    job_id: `${prefix}${i}`,
    script: 'fake_trial.py',
    args: ['--job', `${prefix}${i}`, '--sleep', sleep, '--output', `out/${prefix}${i}.json`, ...(hold ? ['--until-file', `release/${prefix}${i}`] : [])],
    expected_output: `out/${prefix}${i}.json`,
  }));
}

/** Lets a held trial end, on whichever node runs it. */
function release(jobId: string): void {
  for (const node of cluster.nodes) {
    mkdirSync(join(node.workDir, 'release'), { recursive: true });
    writeFileSync(join(node.workDir, 'release', jobId), '');
  }
}

const runsOf = (prefix: string): TrialRun[] => collectRuns(cluster.nodes).filter((run) => run.jobId.startsWith(prefix));

/**
 * What must hold after every sweep here: everything on hostA's disk and nothing on hostB's or
 * this machine's; one final record per job, each output copied byte for byte; and each job's
 * trial started once per attempt the sweep made.
 */
function checkEverythingOnTheResultsHost(id: string, jobs: { job_id: string }[], prefix: string): JobResult[] {
  const folder = runFolder(hostA.onDisk(outputDir()), id);
  for (const file of ['sweep_results.json', 'scripts_run_manifest.json', 'results.jsonl', 'timeline.jsonl', 'joblog.tsv', 'report.html'])
    expect(existsSync(join(folder, file)), file).toBe(true);
  expect(existsSync(hostB.onDisk(outputDir())), "hostB's disk").toBe(false);
  expect(existsSync(outputDir()), "this machine's disk").toBe(false);
  const records = readFileSync(join(folder, 'results.jsonl'), 'utf8')
    .trim()
    .split('\n')
    .map((line) => JSON.parse(line) as JobResult);
  expect(records.map((record) => record.job_id).sort()).toEqual(jobs.map((job) => job.job_id).sort());
  for (const record of records) {
    const onNode = join(cluster.nodes.find((node) => node.name === record.node)!.workDir, record.output_file!);
    expect(readFileSync(hostA.onDisk(record.local_output!), 'utf8'), record.job_id).toBe(readFileSync(onNode, 'utf8'));
  }
  // The nodes' end records went once their jobs were on record: none of the sweep's is left.
  const nodeStateDirs = [hostA.nodeStateDir, ...cluster.rigs.rigs.map((rig) => join(cluster.work, 'rigs', rig.name, 'node-state'))];
  for (const dir of nodeStateDirs) expect(existsSync(join(dir, 'jobs', encodePathPart(id))), `${dir}: ${id}'s end records`).toBe(false);
  const starts = new Map<string, number>();
  for (const run of runsOf(prefix)) starts.set(run.jobId, (starts.get(run.jobId) ?? 0) + 1);
  for (const record of records) expect(starts.get(record.job_id), `${record.job_id}'s trial starts`).toBe(record.attempts.length);
  return records;
}

describe('workers on several hosts', () => {
  it('refuses a second full worker of a name that already polls', async () => {
    const first = await startWorker(hostA);
    const second = await hostB.run('node', [CLI, 'worker', '--config', config, '--name', 'hostA'], {
      env: { RIGSWEEP_TASK_QUEUE: env.taskQueue },
      timeoutMs: 30_000,
    });
    expect(second.exitCode).toBe(2);
    expect(second.stderr).toContain('a worker named "hostA" already polls');
    await first.stop();
  });

  it('the results host killed: trials on the other worker go on, the sweep says it waits for it, and goes on once it is back', async () => {
    const jobs = jobsOf('rh', 10, '1.5');
    const resultsHost = await startWorker(hostA);
    const trialsOnly = await startWorker(hostB, ['--trials-only']);
    await startSweep('results-host-lost', jobs);

    // A follower from this machine, for the whole sweep: it ends with the sweep.
    const watching = runCli(['watch', 'results-host-lost', '--plain'], env);
    await waitUntil('two trials ended', () => runsOf('rh').filter((run) => run.endRecord).length >= 2, 60_000);
    await resultsHost.kill();
    const killedAt = Date.now() / 1000;
    let said = '';
    await waitUntil(
      'status says the sweep waits for hostA',
      async () => {
        said = (await runCli(['status', 'results-host-lost'], env)).stdout;
        return said.includes('waiting for the results host hostA: no answer');
      },
      60_000,
    );
    // Temporal Web shows the workflow's current details: the same words.
    const details = await currentDetails('results-host-lost');
    expect(details).toContain('waiting for the results host hostA: no answer');
    // Meanwhile the rig's trials went on, started by hostB.
    expect(runsOf('rh').some((run) => run.startRecord.t > killedAt && run.startRecord.client === hostB.address)).toBe(true);
    await startWorker(hostA);
    expect(await sweepResult(env, 'results-host-lost')).toMatchObject({ status: 'complete', total_jobs: 10, successful: 10 });
    checkEverythingOnTheResultsHost('results-host-lost', jobs, 'rh');
    const watched = await watching;
    expect(watched.stdout).toContain('[WAIT] waiting for the results host hostA: no answer');
    expect(watched.stdout).toContain('[WAIT] over: the results host hostA answers again');
    const ran = await whoRanWhat('results-host-lost');
    const byTrialsOnly = ran.filter((activity) => activity.identity === `${trialsOnly.pid}@hostB`);
    expect(byTrialsOnly.length).toBeGreaterThan(0);
    for (const activity of byTrialsOnly) expect(activity.what, JSON.stringify(activity)).toMatch(/^\w+ on a rig$/);
    for (const activity of ran.filter((a) => !a.what.endsWith('on a rig') || a.what.startsWith('collectOutput')))
      expect(activity.identity, JSON.stringify(activity)).toMatch(/@hostA$/);
  });

  it('a trials-only worker frozen, then killed: its trial that ended meanwhile is adopted, the one still running re-attached, none runs twice', async () => {
    // Which worker takes a rig trial is the server's choice: enough jobs that hostB gets two.
    const jobs = jobsOf('tk', 40, '0.2', true);
    await startWorker(hostA);
    const trialsOnly = await startWorker(hostB, ['--trials-only']);
    await startSweep('trials-host-lost', jobs);
    const running = (client: string) => runsOf('tk').filter((run) => !run.endRecord && run.startRecord.client === client);
    // hostA's trials are let go as they start, so the rig's GPUs fill up with hostB's.
    await waitUntil(
      'hostB running two trials',
      () => {
        for (const run of running(hostA.address)) release(run.jobId);
        return running(hostB.address).length >= 2;
      },
      60_000,
    ).catch(async (error: unknown) => {
      const seen = runsOf('tk').map((run) => `${run.jobId} ${run.node} by ${run.startRecord.client} ${run.endRecord ? 'ended' : 'running'}`);
      const described = await temporalCli(['workflow', 'describe', '--workflow-id', 'trials-host-lost'], env);
      throw new Error(`${String(error)}; trials: ${seen.join('; ')}\n${described.stdout}`);
    });
    const [adopted, reattached] = running(hostB.address).map((run) => run.jobId);
    trialsOnly.freeze();
    release(adopted);
    await waitUntil(`${adopted} ended on the rig`, () => runsOf('tk').some((run) => run.jobId === adopted && run.endRecord), 20_000);
    await new Promise((resolve) => setTimeout(resolve, 1000)); // its end record follows the trial's own last line
    await trialsOnly.kill();
    // The rest runs on hostA, which takes the held trial's attempt on (a retry, heartbeating);
    // the trial is let go only then, so the take-over cannot be a fresh run.
    const takenOver = async () => {
      const connection = await Connection.connect({ address: env.temporalAddress });
      try {
        const { raw } = await new Client({ connection }).workflow.getHandle('trials-host-lost').describe();
        // The held trial's own attempt: its heartbeat names the trial's process group.
        const pgid = runsOf('tk').find((run) => run.jobId === reattached)!.startRecord.pgid;
        return (raw.pendingActivities ?? []).some((activity) => {
          const beat = activity.heartbeatDetails?.payloads?.[0]?.data;
          const named = beat ? (JSON.parse(Buffer.from(beat).toString('utf8')) as { pgid?: number }).pgid : undefined;
          return activity.activityType?.name === 'runJob' && (activity.attempt ?? 0) >= 2 && activity.lastWorkerIdentity?.endsWith('@hostA') && named === pgid;
        });
      } finally {
        await connection.close();
      }
    };
    await waitUntil('hostA taking the held trial on', async () => {
      for (const job of jobs) if (job.job_id !== reattached) release(job.job_id);
      return takenOver();
    });
    release(reattached);
    expect(await sweepResult(env, 'trials-host-lost')).toMatchObject({ status: 'complete', total_jobs: 40, successful: 40 });
    const records = checkEverythingOnTheResultsHost('trials-host-lost', jobs, 'tk');
    expect(records.find((record) => record.job_id === adopted)).toMatchObject({ resumed: 'adopted', attempt: 1 });
    expect(records.find((record) => record.job_id === reattached)).toMatchObject({ resumed: 'reattached', attempt: 1 });
  });

  it("the results host's disk full: the sweep waits and says why, then goes on once there is room, nothing lost", async () => {
    // A 1 MB disk of hostA's own (a tmpfs in its mount namespace), filled up while the trials run.
    const small = join(hostA.resultsDir, 'small');
    const mounted = await runProcess('nsenter', [
      '-t',
      String(hostA.holderPid),
      '-m',
      '--',
      'sh',
      '-c',
      `mkdir -p ${small} && mount -t tmpfs -o size=1m tmpfs ${small}`,
    ]);
    expect(mounted.exitCode, mounted.stderr).toBe(0);
    await startWorker(hostA);
    const jobs = jobsOf('df', 4, '1');
    await startSweep('disk-full', jobs, join(small, 'out'));
    await waitUntil('the first trial running', () => runsOf('df').length > 0, 30_000);
    await hostA.run('sh', ['-c', `dd if=/dev/zero of=${small}/filler bs=64k 2>/dev/null; true`]);
    let said = '';
    await waitUntil(
      'status says the disk is full',
      async () => {
        said = (await runCli(['status', 'disk-full'], env)).stdout;
        return said.includes('waiting for the results host hostA: its disk is full (ENOSPC)');
      },
      60_000,
    ).catch((error: unknown) => {
      throw new Error(`${String(error)}; status said:\n${said}`);
    });
    await hostA.run('rm', ['-f', `${small}/filler`]);
    expect(await sweepResult(env, 'disk-full')).toMatchObject({ status: 'complete', total_jobs: 4, successful: 4 });
    // Read back on hostA: one final record per job, each with its output copied, byte for byte.
    const listed = await hostA.run('sh', ['-c', `cat ${small}/out/*/results.jsonl`]);
    const records = listed.stdout
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as JobResult);
    expect(records.map((record) => record.job_id).sort()).toEqual(jobs.map((job) => job.job_id).sort());
    for (const record of records) {
      const copy = await hostA.run('cat', [record.local_output!]);
      const onNode = join(cluster.nodes.find((node) => node.name === record.node)!.workDir, record.output_file!);
      expect(copy.stdout, record.job_id).toBe(readFileSync(onNode, 'utf8'));
    }
  });
});

/** What Temporal Web shows as the sweep's current details (its `__temporal_workflow_metadata` query). */
async function currentDetails(workflowId: string): Promise<string> {
  const connection = await Connection.connect({ address: env.temporalAddress });
  try {
    const metadata = await new Client({ connection }).workflow.getHandle(workflowId).query<{ currentDetails?: string }>('__temporal_workflow_metadata');
    return metadata.currentDetails ?? '';
  } finally {
    await connection.close();
  }
}

/** Each activity the sweep's history shows as started: its type, where (a rig or localhost, when it names a node), and the worker that ran it last. */
async function whoRanWhat(workflowId: string): Promise<{ what: string; identity: string }[]> {
  const connection = await Connection.connect({ address: env.temporalAddress });
  try {
    const events = (await new Client({ connection }).workflow.getHandle(workflowId).fetchHistory()).events ?? [];
    const scheduled = new Map<string, string>();
    const ran: { what: string; identity: string }[] = [];
    for (const event of events) {
      const attributes = event.activityTaskScheduledEventAttributes;
      if (attributes) {
        const input = JSON.parse(Buffer.from(attributes.input?.payloads?.[0]?.data ?? []).toString('utf8') || 'null') as {
          node?: { isLocal: boolean };
          isLocal?: boolean;
        } | null;
        const isLocal = input?.node?.isLocal ?? input?.isLocal;
        const where = isLocal === undefined ? '' : isLocal ? ' on localhost' : ' on a rig';
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
