/**
 * A sweep's job on its node, run for real under /bin/sh as sshd or the local launcher would run
 * it (its own process group): its node-side shell stays while the trial runs as its child, keeps
 * the trial's output in files, writes its end record — also when the channel to its worker is
 * gone — and keeps working with everything that finds or stops a job: group kills, the lease
 * watchdog, the leftover kill, the kill of waiting jobs, and the GPU and slot locks.
 */
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { buildJobCommand, jobToken, killGroupCommand, killLeftoverCommand, killWaitingJobsCommand, parseStartMarker } from '../../src/rigs/command';
import { type EndRecord, jobFiles, parseEndRecord } from '../../src/rigs/end-record';
import { parseGoMarker } from '../../src/rigs/node-permits';
import type { SweepJob } from '../../src/shared/jobs';
import { localNodeAt } from './local-node';

const work = mkdtempSync(join(tmpdir(), 'rigsweep-job-shell-'));
const state = mkdtempSync(join(tmpdir(), 'rigsweep-job-state-'));
const node = localNodeAt(work, 'rig');
/** GPUs no other test on this machine uses: the start permits' locks are in the node's shared folder. */
const GPU = { plain: 13, shared: 14, waiting: 15 };
const sh = (command: string) => execFileSync('/bin/sh', ['-c', command], { encoding: 'utf8' });

let jobCount = 0;
/** A trial_command job with its own id, writing `out/<id>.json` when its command does. */
function trialJob(command: string, timeout = 60): Extract<SweepJob, { kind: 'trial' }> {
  const id = `job ${++jobCount}/..`;
  return { kind: 'trial', job_id: id, trial: jobCount, command, timeout, expected_output: `out/${jobCount}.json` };
}

interface StartedJob {
  pgid: Promise<number>;
  go: Promise<bigint | null>;
  /** Everything the job wrote to its channel's stdout. */
  stdout: () => string;
  exited: Promise<{ code: number | null; signal: string | null }>;
  /** Closes our ends of its stdout and stderr, as a worker that died would. */
  dropChannel: () => void;
  record: () => EndRecord | null;
}

function startJob(job: SweepJob, options: { gpu?: number; leaseSeconds?: number; sweepId?: string } = {}): StartedJob {
  const sweepId = options.sweepId ?? 'sweep-shell';
  const context = { node, gpu: options.gpu ?? GPU.plain, runId: 'run', sweepId, leaseSeconds: options.leaseSeconds };
  const command = buildJobCommand(job, { ...context, permit: { gpu: context.gpu, slots: 16, spacingSeconds: 0 }, record: { attempt: 1, stateDir: state } });
  const child = spawn('/bin/sh', ['-c', command], { detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  child.stderr.resume();
  let text = '';
  child.stdout.on('data', (chunk: Buffer) => (text += chunk.toString()));
  const exited = new Promise<{ code: number | null; signal: string | null }>((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
  /** Line `index` of stdout once it is complete; null if the job ends (or its channel closes) first. */
  const line = async (index: number): Promise<string | null> => {
    const closed = exited.then(() => true);
    while (text.split('\n').length <= index + 1) if (await Promise.race([closed, sleep(20).then(() => false)])) break;
    return text.split('\n').length > index + 1 ? text.split('\n')[index] : null;
  };
  const files = jobFiles(state, sweepId, job.job_id, 1);
  return {
    pgid: line(0).then((marker) => parseStartMarker(marker ?? '')!.pgid),
    go: line(1).then((go) => parseGoMarker(go ?? '')?.nodeTimeNs ?? null),
    stdout: () => text,
    exited,
    dropChannel: () => (child.stdout.destroy(), child.stderr.destroy()),
    record: () => {
      try {
        return parseEndRecord(readFileSync(files.record, 'utf8'));
      } catch {
        return null;
      }
    },
  };
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const groupAlive = (pgid: number) => sh(`ps -e -o pgid=,stat= | awk '$1 == ${pgid} && $2 !~ /^Z/' | wc -l`).trim() !== '0';

describe("a job's node-side shell", () => {
  it('runs the trial as its child in the same group, its output in files, and records how it ended and what it wrote', async () => {
    mkdirSync(join(work, 'out'), { recursive: true });
    const job = trialJob(`echo to-stdout; echo to-stderr >&2; ps -o pgid=,ppid= -p $$ > parentage; printf '{{"ok": 1}}' > out/{trial}.json; exit 3`);
    const started = startJob(job);
    const [pgid, go, exited] = await Promise.all([started.pgid, started.go, started.exited]);
    const files = jobFiles(state, 'sweep-shell', job.job_id, 1);
    expect(exited.code).toBe(3);
    // The channel carries the two marker lines and nothing of the trial's.
    expect(started.stdout().split('\n')).toEqual([expect.stringMatching(/^RIGSWEEP_START /), expect.stringMatching(/^RIGSWEEP_GO /), '']);
    expect(readFileSync(files.stdout, 'utf8')).toBe('to-stdout\n');
    expect(readFileSync(files.stderr, 'utf8')).toBe('to-stderr\n');
    // `sh -c <trial>`: its group is the job's, its parent the node-side shell that leads the group.
    const [trialGroup, trialParent] = readFileSync(join(work, 'parentage'), 'utf8').trim().split(/\s+/).map(Number);
    expect(trialGroup).toBe(pgid);
    expect(trialParent).toBe(pgid);
    const output = join(work, 'out', `${job.trial}.json`);
    const bytes = readFileSync(output);
    const record = started.record()!;
    expect(record).toMatchObject({ pgid, exitCode: 3, signal: null, startNs: go, fenced: false });
    expect(record.endNs).toBeGreaterThanOrEqual(record.startNs);
    expect(record.endNs).toBeLessThanOrEqual(BigInt(Date.now()) * 1_000_000n);
    expect(record.output).toEqual({
      missing: false,
      size: bytes.length,
      mtimeNs: statSync(output, { bigint: true }).mtimeNs,
      sha256: createHash('sha256').update(bytes).digest('hex'),
    });
  });

  it('lets the trial finish and record its end when the channel to its worker is gone (no SIGPIPE)', async () => {
    const job = trialJob('sleep 1; i=0; while [ $i -lt 2000 ]; do echo "line $i of output"; echo "line $i of errors" >&2; i=$((i+1)); done');
    const started = startJob(job);
    expect(await started.go).not.toBeNull();
    started.dropChannel();
    await started.exited;
    expect(started.record()).toMatchObject({ exitCode: 0, signal: null, output: { missing: true } });
  });

  it('records the signal when the job is killed by its process group, and leaves nothing of it', async () => {
    const started = startJob(trialJob('sleep 30 & sleep 30; wait'));
    const pgid = await started.pgid;
    await started.go;
    sh(killGroupCommand(pgid, 1));
    await started.exited;
    expect(started.record()).toMatchObject({ pgid, exitCode: null, signal: 'SIGTERM', fenced: false });
    expect(groupAlive(pgid)).toBe(false);
  });

  it('is killed by its lease watchdog when nobody renews its lease, and records that it was fenced', async () => {
    const started = startJob(trialJob('sleep 30'), { leaseSeconds: 1 });
    await started.exited;
    expect(started.record()).toMatchObject({ signal: 'SIGTERM', fenced: true });
  }, 15_000);

  it("is found by the leftover kill (its leader carries the job's token) and left alone under another job's token", async () => {
    const job = trialJob('sleep 30');
    const started = startJob(job);
    const pgid = await started.pgid;
    await started.go;
    expect(sh(killLeftoverCommand(pgid, jobToken('sweep-shell', 'another job'), 1))).toBe('');
    expect(groupAlive(pgid)).toBe(true);
    expect(sh(killLeftoverCommand(pgid, jobToken('sweep-shell', job.job_id), 1))).toBe('LEFTOVER\n');
    await started.exited;
    expect(groupAlive(pgid)).toBe(false);
  });

  it("holds its GPU's lock while its trial runs: the next job on the GPU waits, and killing the sweep's waiting jobs leaves it running", async () => {
    const first = startJob(trialJob('sleep 1.5'), { gpu: GPU.shared, sweepId: 'sweep-locks' });
    const firstGo = await first.go;
    const waiting = startJob(trialJob('true'), { gpu: GPU.shared, sweepId: 'sweep-locks' });
    const next = startJob(trialJob('true'), { gpu: GPU.shared, sweepId: 'sweep-next' });
    await sleep(300);
    sh(killWaitingJobsCommand('sweep-locks', GPU.shared));
    expect((await waiting.exited).signal).toBe('SIGTERM');
    const nextGo = await next.go;
    expect(first.record()).toMatchObject({ exitCode: 0, signal: null });
    expect(Number(nextGo! - firstGo!) / 1e9).toBeGreaterThanOrEqual(1.5);
  });

  it("prunes the node's records older than 7 days when a sweep's first job starts there", async () => {
    const old = jobFiles(state, 'sweep-old', 'j', 1);
    mkdirSync(old.dir, { recursive: true });
    writeFileSync(old.record, 'x');
    const eightDaysAgo = Date.now() / 1000 - 8 * 24 * 3600;
    utimesSync(old.record, eightDaysAgo, eightDaysAgo);
    const fresh = jobFiles(state, 'sweep-old', 'k', 1);
    writeFileSync(fresh.record, 'x');
    await startJob(trialJob('true'), { sweepId: 'sweep-new' }).exited;
    expect(() => statSync(old.record)).toThrow();
    expect(statSync(fresh.record).isFile()).toBe(true);
  });
});
