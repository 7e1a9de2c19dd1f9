/**
 * Builds the shell command that starts a job on a node — the seed's
 * `cd <script_path> && env <GPU env> <python_env> -u <script> <args...> --gpu-id <G>` — with every
 * argument shell-quoted so it arrives byte for byte, and a first line that reports the job's
 * process group and the node's clock, so rigsweep can kill the whole group and judge output
 * freshness by the node's own time. A sweep's job runs under a node-side shell that keeps its
 * output and writes its end record on the node (end-record.ts), so its trial outlives its worker.
 */
import { quote } from 'shell-quote';
import type { SweepJob } from '../shared/jobs';
import type { SweepNode } from '../shared/nodes';
import { paddedTrial, renderTemplate } from '../shared/templates';
import { escapeEre, gpuLockWaitPattern, NODE_STATE_DIR, type StartPermit, startPermitCommand } from './node-permits';
import { jobFiles, prepareRecordsCommand, supervisedWords } from './end-record';

/** The seed's ROCm settings for RX 6600 rigs (gfx1032 runs as gfx1030; SDMA off avoids hangs). */
const ROCM_ENV: [string, string][] = [
  ['HSA_OVERRIDE_GFX_VERSION', '10.3.0'],
  ['HSA_ENABLE_SDMA', '0'],
  ['ROCM_PATH', '/opt/rocm'],
  ['HIP_PATH', '/opt/rocm/hip'],
];
const ROCM_BIN_DIRS = '/opt/rocm/bin:/opt/rocm/hip/bin';
const ROCM_LIB_DIRS = '/opt/rocm/lib:/opt/rocm/hip/lib';

/** The marker line every job prints first: `RIGSWEEP_START <pgid> <node epoch ns>`. */
export const START_MARKER = 'RIGSWEEP_START';

/** Quotes a path for a POSIX shell; a leading `~/` stays the user's home on that node. */
export function shellWord(word: string): string {
  if (word === '~') return '"$HOME"';
  if (word.startsWith('~/')) return `"$HOME"/${quote([word.slice(2)])}`;
  return quote([word]);
}

/** `VAR=value` words selecting one GPU, as the seed set them for NVIDIA and ROCm nodes. */
export function gpuEnvWords(node: Pick<SweepNode, 'isRocm'>, gpu: number): string[] {
  const words = [`CUDA_VISIBLE_DEVICES=${gpu}`];
  if (node.isRocm) {
    words.push(`HIP_VISIBLE_DEVICES=${gpu}`);
    for (const [name, value] of ROCM_ENV) words.push(`${name}=${quote([value])}`);
    words.push(`PATH=${ROCM_BIN_DIRS}:"$PATH"`);
    words.push(`LD_LIBRARY_PATH=${ROCM_LIB_DIRS}\${LD_LIBRARY_PATH:+:"$LD_LIBRARY_PATH"}`);
  }
  return words;
}

export interface JobCommandContext {
  node: SweepNode;
  gpu: number;
  /** The run id users see: the `{run_id}` placeholder. */
  runId: string;
  /** The sweep's identity (its workflow id): the job's process tag, what kills find it by; default `runId`. */
  sweepId?: string;
  /** Folders (relative to script_path) to create before the job starts: its redirected output's. */
  createDirs?: string[];
  /**
   * Rigs only: the job holds a lease that rigsweep renews (`renewLeaseCommand`) while it can reach
   * the rig; a watchdog on the rig kills the job's process group once the lease is this many
   * seconds old — the one fence that still works when the rig is cut off.
   */
  leaseSeconds?: number;
  /** The node's rules across sweeps (node-permits.ts): waited for after the marker, before the trial starts. */
  permit?: StartPermit;
  /**
   * Keep the trial's end on the node: it runs under a shell that stays (no `exec`), keeps its
   * stdout and stderr in files and writes the end record of this attempt (end-record.ts) under
   * `stateDir` (default the node's state folder). Without it the trial replaces the start shell.
   */
  record?: { attempt: number; stateDir?: string };
}

/** The lease file of the job whose process group is `pgid`, on its rig. */
export function leaseFile(pgid: number | string): string {
  return `/tmp/rigsweep-lease-${pgid}`;
}

/** Renews a job's lease; never creates one that its watchdog already gave up. */
export function renewLeaseCommand(pgid: number): string {
  return `touch -c ${leaseFile(pgid)}`;
}

/**
 * The watchdog, in a session of its own so the kill it sends does not hit itself: $1 the pgid,
 * $2 the lease file, $3 the lease in seconds. It ends with the job's group.
 */
const LEASE_WATCHDOG =
  'while kill -0 -$1 2>/dev/null; do sleep 1; age=$(( $(date +%s) - $(stat -c %Y "$2" 2>/dev/null || date +%s) )); ' +
  'if [ "$age" -gt "$3" ]; then kill -TERM -$1 2>/dev/null; sleep 5; kill -KILL -$1 2>/dev/null; break; fi; done; rm -f "$2"';

function leaseWords(leaseSeconds: number): string {
  return `touch ${leaseFile('$$')}; { setsid sh -c ${quote([LEASE_WATCHDOG])} rigsweep-lease $$ ${leaseFile('$$')} ${Math.ceil(leaseSeconds)} </dev/null >/dev/null 2>&1 & }`;
}

/** The words that run the job itself (after `env <GPU env>`). */
function jobWords(job: SweepJob, context: JobCommandContext): string[] {
  if (job.kind === 'script') {
    return [shellWord(context.node.pythonEnv), '-u', shellWord(job.script), ...job.args.map((arg) => quote([arg])), '--gpu-id', String(context.gpu)];
  }
  // A trial_command is the user's own shell text: it runs as written, in its own `sh -c`.
  return ['sh', '-c', quote([renderTemplate(job.command, templateValues(job, context))])];
}

/** Values of `{trial}`, `{trial_id}`, `{gpu}`, `{node}`, `{run_id}` for one dispatch. */
export function templateValues(job: Extract<SweepJob, { kind: 'trial' }>, context: JobCommandContext) {
  return { trial: job.trial, trial_id: paddedTrial(job.trial), gpu: context.gpu, node: context.node.name, run_id: context.runId };
}

/** The job's output path as the node sees it, relative to script_path (null when it names none). */
export function expectedOutput(job: SweepJob, context: JobCommandContext): string | null {
  if (!job.expected_output) return null;
  return job.kind === 'trial' ? renderTemplate(job.expected_output, templateValues(job, context)) : job.expected_output;
}

/**
 * The full command line for a login shell on the node. The shell's `$$` is the process group id,
 * since both sshd and our local launcher start each job as its own group. It ends in `exec`: of
 * the trial itself, whose exit code and signal the node then reports, or — with `record` — of the
 * node-side shell that runs the trial as its child and writes its end record.
 */
export function buildJobCommand(job: SweepJob, context: JobCommandContext): string {
  const sweepId = context.sweepId ?? context.runId;
  const stateDir = context.record?.stateDir ?? NODE_STATE_DIR;
  const files = context.record ? jobFiles(stateDir, sweepId, job.job_id, context.record.attempt) : null;
  const trial = jobWords(job, context);
  return [
    `echo ${START_MARKER} $$ $(date +%s%N)`,
    ...(context.leaseSeconds ? [leaseWords(context.leaseSeconds)] : []),
    ...(files ? [prepareRecordsCommand(files, stateDir)] : []),
    ...(context.permit ? [startPermitCommand(context.permit)] : []),
    `cd ${shellWord(context.node.scriptPath)} || exit 97`,
    ...(context.createDirs?.length ? [`mkdir -p -- ${context.createDirs.map((dir) => quote([dir])).join(' ')}`] : []),
    [
      'exec',
      'env',
      tokenWord(jobToken(sweepId, job.job_id)),
      ...(context.permit ? [`${STARTED_VAR}=$rs_now`] : []),
      ...gpuEnvWords(context.node, context.gpu),
      ...(files
        ? supervisedWords(files, trial, {
            outputFile: expectedOutput(job, context),
            lease: context.leaseSeconds ? { fileWord: leaseFile('$$'), seconds: context.leaseSeconds } : undefined,
          })
        : trial),
    ].join(' '),
  ].join('; ');
}

/** The node time (epoch ns) at which the job got its start permit, in the job's environment. */
export const STARTED_VAR = 'RIGSWEEP_STARTED_NS';

/**
 * Every job's process carries `RIGSWEEP_JOB=<sweep id>/<job_id>` in its environment, so a later
 * attempt can tell a leftover of this job from an unrelated process that reused its pid.
 */
export const JOB_TOKEN_VAR = 'RIGSWEEP_JOB';

export function jobToken(sweepId: string, jobId: string): string {
  return `${sweepId}/${jobId}`;
}

/** `RIGSWEEP_JOB=<token>`, quoted, as the job's command line carries it. */
const tokenWord = (token: string) => `${JOB_TOKEN_VAR}=${quote([token])}`;

/** Shell test: the leader of group `pgid` runs this job's trial (its environment holds the job's token). */
export function leaderRunsJob(pgid: number, token: string): string {
  return `tr '\\0' '\\n' 2>/dev/null < /proc/${pgid}/environ | grep -qxF -- ${quote([`${JOB_TOKEN_VAR}=${token}`])}`;
}

/** Shell test: the leader of group `pgid` is this job's start command, still waiting for its start permit. */
export function leaderWaitsAsJob(pgid: number, token: string): string {
  return `tr '\\0' ' ' 2>/dev/null < /proc/${pgid}/cmdline | grep -qF -- ${quote([tokenWord(token)])}`;
}

/**
 * Kills the process group `pgid` only if its leader is still this job — its environment holds the
 * job's token once the trial runs, its command line while it waits for its start permit: what a
 * retry runs when the attempt before it lost its worker and left a job it cannot resume.
 */
export function killLeftoverCommand(pgid: number, token: string, graceSeconds: number): string {
  return `if { ${leaderRunsJob(pgid, token)}; } || { ${leaderWaitsAsJob(pgid, token)}; }; then echo LEFTOVER; ${killGroupCommand(pgid, graceSeconds)}; fi; exit 0`;
}

/** Parses the start marker; null when the line is something else. */
export function parseStartMarker(line: string): { pgid: number; nodeTimeNs: bigint } | null {
  const match = new RegExp(`^${START_MARKER} (\\d+) (\\d+)$`).exec(line.trim());
  return match ? { pgid: Number(match[1]), nodeTimeNs: BigInt(match[2]) } : null;
}

/**
 * Kills the jobs of sweep `sweepId` (or its one job `jobId`) still waiting on the node for GPU `gpu`'s
 * lock: what a cancelled sweep's running job does before its own kill, so the GPU it frees is not
 * taken by the standby behind it in the second or two before that standby's activity hears of the
 * cancel; and what a standby's withdrawal does at once, for the same reason. Two greps
 * read every command line on the node (no fork per process); a waiting job's shell leads its own
 * process group. A started job's command line is its trial's, or its node-side shell's (which
 * holds no lock wait), and is left alone.
 */
export function killWaitingJobsCommand(sweepId: string, gpu: number, options: { jobId?: string; dir?: string } = {}): string {
  const { jobId, dir = NODE_STATE_DIR } = options;
  // One job (its id ends at a quote or a space), or any of the sweep's.
  const token = `${JOB_TOKEN_VAR}=['"]?${escapeEre(sweepId)}/${jobId === undefined ? '' : `${escapeEre(jobId)}(['"\\ ]|$)`}`;
  const waiting = `grep -lsaE -- ${quote([gpuLockWaitPattern(gpu, dir)])} /proc/[0-9]*/cmdline | xargs -r grep -lsaE -- ${quote([token])}`;
  return `for rs_f in $(${waiting}); do rs_p=\${rs_f#/proc/}; kill -TERM -\${rs_p%/cmdline} 2>/dev/null; done`;
}

/** Kills a job's whole process group: TERM first, KILL after `graceSeconds` if anything is left. */
export function killGroupCommand(pgid: number, graceSeconds: number): string {
  // `kill -SIG -PGID` without `--`: dash, the /bin/sh of Debian and Ubuntu, rejects `--`.
  const group = `-${pgid}`;
  return `kill -TERM ${group} 2>/dev/null || exit 0; for i in $(seq ${graceSeconds * 10}); do kill -0 ${group} 2>/dev/null || exit 0; sleep 0.1; done; kill -KILL ${group} 2>/dev/null; exit 0`;
}
