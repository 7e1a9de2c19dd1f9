/**
 * What a job's lost attempt (its worker died, or its node was out of reach) left on its node, as
 * the retry that follows it finds it by the process group the lost attempt heartbeated: a trial
 * still running under a live lease (re-attach to it), a trial that ended and wrote its end record
 * (adopt it), or nothing worth keeping — never started, still waiting for its start permit, or past
 * its lease — which is killed if it is still this job, so the job can run again.
 */
import { quote } from 'shell-quote';
import { killLeftoverCommand, leaderRunsJob, leaderWaitsAsJob, leaseFile, STARTED_VAR } from './command';
import { type EndRecord, parseEndRecord } from './end-record';

/**
 * A lease this close to running out is not taken over: the rig's watchdog looks every second, and
 * file times have a second's resolution, so it may be acting on the lease as we renew it.
 */
export const LEASE_MARGIN_SECONDS = 3;

export type LostAttempt =
  /** Its trial runs and, on a rig, its lease has just been renewed. `startedNs`: when it got its start permit. */
  | { state: 'running'; nodeNowNs: bigint; startedNs: bigint | null }
  /** Its trial ended and wrote the end record of this process group. */
  | { state: 'ended'; nodeNowNs: bigint; record: EndRecord }
  /** Nothing to resume; `killed` when a copy of the job was still there and has been killed. */
  | { state: 'gone'; why: 'nothing' | 'waiting' | 'fenced' | 'unreadable record' | 'foreign record'; killed: boolean };

export interface LostAttemptQuery {
  pgid: number;
  /** The job's token (`jobToken`): what tells this job from a process that reused its pid. */
  token: string;
  /** The attempt's end record on the node. */
  record: string;
  /** Rigs: the lease, in seconds, the job's watchdog holds it to; none on localhost. */
  leaseSeconds?: number;
  graceSeconds: number;
}

/**
 * One command that looks at the lost attempt's process group and acts at once: renews the lease of
 * a running trial (so the watchdog does not fence it while we take over), kills a copy that cannot
 * be resumed, or prints the end record. Its leader is looked at before the record, and the record
 * is written before the leader exits, so a trial that ends meanwhile is never missed.
 */
export function lostAttemptCommand(query: LostAttemptQuery): string {
  const { pgid, token, leaseSeconds } = query;
  const lease = leaseFile(pgid);
  const started = `rs_started=$(tr '\\0' '\\n' 2>/dev/null < /proc/${pgid}/environ | sed -n 's/^${STARTED_VAR}=//p')`;
  const leaseHolds = leaseSeconds
    ? `[ -f ${lease} ] && [ $(( $(date +%s) - $(stat -c %Y ${lease} 2>/dev/null || echo 0) )) -le ${Math.floor(leaseSeconds) - LEASE_MARGIN_SECONDS} ] && touch -c ${lease}`
    : 'true';
  const kill = killLeftoverCommand(pgid, token, query.graceSeconds);
  return [
    'echo NOW $(date +%s%N)',
    `if { ${leaderRunsJob(pgid, token)}; }; then if ${leaseHolds}; then ${started}; echo "RUNNING \${rs_started:--}"; exit 0; fi; echo FENCED; ${kill}; fi`,
    `if { ${leaderWaitsAsJob(pgid, token)}; }; then echo WAITING; ${kill}; fi`,
    `echo ENDED; cat ${quote([query.record])} 2>/dev/null; exit 0`,
  ].join('; ');
}

/** Reads what `lostAttemptCommand` printed; a record of another process group is not this attempt's. */
export function parseLostAttempt(stdout: string, pgid: number): LostAttempt {
  const now = /^NOW (\d+)\n/.exec(stdout);
  const rest = now ? stdout.slice(now[0].length) : '';
  const nodeNowNs = BigInt(now?.[1] ?? 0);
  const running = /^RUNNING (\d+|-)\n/.exec(rest);
  if (running) return { state: 'running', nodeNowNs, startedNs: running[1] === '-' ? null : BigInt(running[1]) };
  for (const why of ['FENCED', 'WAITING'] as const) {
    if (rest.startsWith(`${why}\n`)) return { state: 'gone', why: why === 'FENCED' ? 'fenced' : 'waiting', killed: rest.includes('\nLEFTOVER\n') };
  }
  if (!now || !rest.startsWith('ENDED\n')) return { state: 'gone', why: 'nothing', killed: false };
  const text = rest.slice('ENDED\n'.length);
  if (text === '') return { state: 'gone', why: 'nothing', killed: false };
  const record = parseEndRecord(text);
  if (!record) return { state: 'gone', why: 'unreadable record', killed: false };
  if (record.pgid !== pgid) return { state: 'gone', why: 'foreign record', killed: false };
  return { state: 'ended', nodeNowNs, record };
}

/** Prints RUNNING while the trial of a re-attached job still runs. */
export function stillRunningCommand(pgid: number, token: string): string {
  return `if { ${leaderRunsJob(pgid, token)}; }; then echo RUNNING; fi; exit 0`;
}
