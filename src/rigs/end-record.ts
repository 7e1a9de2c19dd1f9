/**
 * A job's end record: the few lines the node-side shell of a job writes when its trial ends — how
 * it ended, when, and what its output file looked like — so a retry whose worker was lost can
 * adopt the trial's end instead of running it again. Here are the record's place on the node, the
 * shell that writes it, its parser, and the commands that clear records away.
 *
 * A record (one `key value` line each, in this order, `output` and `fenced` only when they apply):
 *
 *     rigsweep-end 1
 *     pgid 4242                       the job's process group (its shell's pid)
 *     exit 0 | signal TERM            the trial's exit status, or the signal that ended it
 *     start_ns 1767000000000000000    node epoch ns: the start permit's GO (else the trial's start)
 *     end_ns 1767000009000000000      node epoch ns: the trial's end
 *     output 123 <mtime ns> <sha256>  the expected output's size, mtime and digest, or `output missing`
 *     fenced                          the job's lease had run out: its rig's watchdog killed it
 *     end
 */
import { createHash } from 'node:crypto';
import { quote } from 'shell-quote';

export const END_RECORD_HEADER = 'rigsweep-end 1';

/** Records older than this are removed by the prune that the first job of a sweep on a node runs. */
export const RECORD_RETENTION_DAYS = 7;

/** The node-side files of one attempt of one job: its end record and the trial's stdout and stderr. */
export interface JobFiles {
  /** The sweep's folder of records, `<state dir>/jobs/<sweep>`. */
  dir: string;
  record: string;
  stdout: string;
  stderr: string;
}

/** Characters a record's path keeps as they are; everything else is percent-encoded. */
const SAFE = /^[A-Za-z0-9_-]$/;
/** Encoded names longer than this are cut and completed by a digest of the whole id (file names stop at 255 bytes). */
const MAX_PART = 100;

/** A lone UTF-16 surrogate, which UTF-8 cannot carry: such an id is named by its digest. */
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/**
 * One id as one path component that cannot leave its folder: every UTF-8 byte outside
 * [A-Za-z0-9_-] is `%XX` (so no `/`, no `.`, no control character), the empty id is `%` (a `%`
 * without its two digits, which no other id gives). A long id, or one UTF-8 cannot carry, is cut
 * and ends in `~<sha256 of its UTF-16 code units>` (`~` is encoded everywhere else, so the two
 * forms never meet).
 */
export function encodePathPart(id: string): string {
  if (id === '') return '%';
  let encoded = '';
  for (const byte of Buffer.from(id, 'utf8')) {
    const char = String.fromCharCode(byte);
    encoded += SAFE.test(char) ? char : `%${byte.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  if (encoded.length <= MAX_PART && !LONE_SURROGATE.test(id)) return encoded;
  return `${encoded.slice(0, 40).replace(/%[0-9A-F]?$/, '')}~${createHash('sha256').update(Buffer.from(id, 'utf16le')).digest('hex')}`;
}

const jobsDir = (stateDir: string) => `${stateDir}/jobs`;
const sweepDir = (stateDir: string, sweepId: string) => `${jobsDir(stateDir)}/${encodePathPart(sweepId)}`;

/**
 * Where attempt `attempt` of job `jobId` of sweep `sweepId` keeps its files on the node:
 * `<state dir>/jobs/<sweep>/<job>.<attempt>.end` (and `.out`, `.err`). An encoded id holds no `.`,
 * so `<job>.` starts the names of that job's files and of no other job's.
 */
export function jobFiles(stateDir: string, sweepId: string, jobId: string, attempt: number): JobFiles {
  const dir = sweepDir(stateDir, sweepId);
  const base = `${dir}/${encodePathPart(jobId)}.${encodePathPart(String(attempt))}`;
  return { dir, record: `${base}.end`, stdout: `${base}.out`, stderr: `${base}.err` };
}

/** What the record says about the job's expected output, as `outputStateCommand` prints it. */
export type OutputState = { missing: true } | { missing: false; size: number; mtimeNs: bigint; sha256: string };

export interface EndRecord {
  pgid: number;
  /** The trial's exit code, or the signal (`SIGTERM`) that ended it. */
  exitCode: number | null;
  signal: string | null;
  startNs: bigint;
  endNs: bigint;
  /** Absent when the job names no output. */
  output?: OutputState;
  /** The job's lease ran out before the trial ended: the rig fenced it, nothing of its end is its own. */
  fenced: boolean;
}

const NS = /^\d{1,20}$/;

/** Parses an `output …` line (without its key); null when it is anything else. */
export function parseOutputState(value: string): OutputState | null {
  if (value === 'missing') return { missing: true };
  const match = /^(\d{1,15}) (\d{1,20}) ([0-9a-f]{64})$/.exec(value);
  return match ? { missing: false, size: Number(match[1]), mtimeNs: BigInt(match[2]), sha256: match[3] } : null;
}

/** Two output states are the same file, byte for byte and untouched since. */
export function sameOutput(a: OutputState | undefined, b: OutputState | undefined): boolean {
  if (!a || !b || a.missing || b.missing) return a?.missing === true && b?.missing === true;
  return a.size === b.size && a.mtimeNs === b.mtimeNs && a.sha256 === b.sha256;
}

/**
 * Reads an end record; null for anything that is not exactly one — a missing line, an unknown or
 * repeated key, a number out of form, no closing `end` — so a torn or foreign file is never adopted.
 */
export function parseEndRecord(text: string): EndRecord | null {
  const lines = text.split('\n');
  if (lines.at(-1) === '') lines.pop();
  if (lines[0] !== END_RECORD_HEADER || lines.at(-1) !== 'end') return null;
  const fields = new Map<string, string>();
  for (const line of lines.slice(1, -1)) {
    const [key, value] = line.includes(' ') ? [line.slice(0, line.indexOf(' ')), line.slice(line.indexOf(' ') + 1)] : [line, ''];
    if (fields.has(key) || !['pgid', 'exit', 'signal', 'start_ns', 'end_ns', 'output', 'fenced'].includes(key)) return null;
    fields.set(key, value);
  }
  const [pgid, exit, signal, start, end, output, fenced] = ['pgid', 'exit', 'signal', 'start_ns', 'end_ns', 'output', 'fenced'].map((key) => fields.get(key));
  if (!pgid || !/^[1-9]\d{0,9}$/.test(pgid) || !start || !NS.test(start) || !end || !NS.test(end)) return null;
  if ((exit === undefined) === (signal === undefined)) return null;
  if (exit !== undefined && !(/^\d{1,3}$/.test(exit) && Number(exit) <= 255)) return null;
  if (signal !== undefined && !/^(?:[A-Z][A-Z0-9+-]{0,15}|\d{1,3})$/.test(signal)) return null;
  if (fenced !== undefined && fenced !== '') return null;
  const outputState = output === undefined ? undefined : parseOutputState(output);
  if (outputState === null) return null;
  return {
    pgid: Number(pgid),
    exitCode: exit === undefined ? null : Number(exit),
    signal: signal === undefined ? null : /^\d/.test(signal) ? signal : `SIG${signal}`,
    startNs: BigInt(start),
    endNs: BigInt(end),
    ...(outputState ? { output: outputState } : {}),
    fenced: fenced !== undefined,
  };
}

/**
 * A shell function printing the `output` line of the file `$1` (absolute, or relative to the
 * current folder): size, mtime and digest, or `output missing`.
 */
const OUTPUT_STATE_FUNCTION =
  'rs_output_state() { case $1 in -*) set -- "./$1";; esac; ' +
  'if [ -f "$1" ]; then echo "output $(wc -c < "$1") $(date -r "$1" +%s%N) $(sha256sum < "$1" | cut -c1-64)"; else echo "output missing"; fi; }';

/** Prints the `output …` line of `outputFile` (relative to `scriptPathWord`, a quoted folder) as a record would hold it now. */
export function outputStateCommand(scriptPathWord: string, outputFile: string): string {
  return `cd ${scriptPathWord} || exit 97; ${OUTPUT_STATE_FUNCTION}; rs_output_state ${quote([outputFile])}`;
}

/**
 * The job's node-side shell, which stays while its trial runs (`sh -c` of this, `exec`ed by the
 * start command, so it keeps the job's pid and leads its process group; its command line is no
 * longer the start command's, so `killWaitingJobsCommand` leaves a started job alone).
 * $1 record, $2 stdout file, $3 stderr file, $4 the expected output ('' for none), $5 the lease
 * file, $6 the lease in seconds ('' for none); the trial's words follow.
 * Nothing here writes to the SSH channel: the trial's output goes to files, so a channel that dies
 * with its worker costs the trial nothing. TERM, INT and HUP are caught (not ignored: the trial
 * gets them as usual), so a kill of the group lets this shell write how the trial ended; KILL ends
 * both without a record. A trial's status above 128 is read as the signal 128+n, as shells do.
 */
const SUPERVISOR = [
  'rs_rec=$1 rs_output=$4 rs_lease_file=$5 rs_lease=$6',
  'exec </dev/null >"$2" 2>"$3"',
  'shift 6',
  'rm -f "$rs_rec"',
  'rs_start=${RIGSWEEP_STARTED_NS:-$(date +%s%N)}',
  'trap : TERM INT HUP',
  '"$@"',
  'rs_rc=$?',
  'rs_end=$(date +%s%N)',
  'if [ "$rs_rc" -gt 128 ]; then rs_how="signal $(kill -l "$rs_rc" 2>/dev/null || echo $((rs_rc - 128)))"; else rs_how="exit $rs_rc"; fi',
  OUTPUT_STATE_FUNCTION,
  'rs_out=; [ -z "$rs_output" ] || rs_out=$(rs_output_state "$rs_output")',
  // The watchdog's own test (command.ts): a lease this old is one it has acted on.
  'rs_fenced=; [ -n "$rs_lease" ] && [ -f "$rs_lease_file" ] && [ $(( $(date +%s) - $(stat -c %Y "$rs_lease_file" 2>/dev/null || date +%s) )) -gt "$rs_lease" ] && rs_fenced=1',
  `{ echo '${END_RECORD_HEADER}'; echo "pgid $$"; echo "$rs_how"; echo "start_ns $rs_start"; echo "end_ns $rs_end"; [ -z "$rs_out" ] || echo "$rs_out"; [ -z "$rs_fenced" ] || echo fenced; echo end; } >"$rs_rec.tmp" && mv -f "$rs_rec.tmp" "$rs_rec"`,
  'exit "$rs_rc"',
].join('; ');

/**
 * The words (after `exec env <job env>`) that run the trial `trialWords` under the job's
 * node-side shell, which keeps its output in `files` and writes its end record there. The lease
 * file is a shell word (its name holds the start shell's `$$`).
 */
export function supervisedWords(
  files: JobFiles,
  trialWords: string[],
  options: { outputFile: string | null; lease?: { fileWord: string; seconds: number } },
): string[] {
  const { lease } = options;
  const args = [files.record, files.stdout, files.stderr, options.outputFile ?? ''].map((arg) => quote([arg]));
  const leaseArgs = lease ? [lease.fileWord, String(Math.ceil(lease.seconds))] : ["''", "''"];
  return ['/bin/sh', '-c', quote([SUPERVISOR]), 'rigsweep-job', ...args, ...leaseArgs, ...trialWords];
}

/** The line between the record and the stderr tail in what `readEndCommand` prints. */
const STDERR_TAIL_LINE = 'RIGSWEEP_STDERR_TAIL';

/** Prints the attempt's end record (nothing when there is none), then the last `tailBytes` of its trial's stderr. */
export function readEndCommand(files: JobFiles, tailBytes: number): string {
  return `cat ${quote([files.record])} 2>/dev/null; printf '\\n%s\\n' ${STDERR_TAIL_LINE}; tail -c ${tailBytes} ${quote([files.stderr])} 2>/dev/null; exit 0`;
}

/**
 * Reads what `readEndCommand` printed: the record, if it is one and of process group `pgid` (a
 * record left by an earlier run of the same attempt is not this run's), and the stderr tail.
 */
export function parseReadEnd(stdout: string, pgid: number): { record: EndRecord | null; stderrTail: string } {
  const at = stdout.indexOf(`\n${STDERR_TAIL_LINE}\n`);
  if (at < 0) return { record: null, stderrTail: '' };
  const record = parseEndRecord(stdout.slice(0, at));
  return { record: record?.pgid === pgid ? record : null, stderrTail: stdout.slice(at + STDERR_TAIL_LINE.length + 2) };
}

/**
 * Creates the sweep's folder of records the first time one of its jobs starts on the node (the
 * shared `jobs` folder sticky and world-writable, like the node's other state), and then — once per
 * sweep and node, which costs nothing per job — prunes records older than the retention.
 */
export function prepareRecordsCommand(files: JobFiles, stateDir: string): string {
  const dir = quote([files.dir]);
  const shared = `${quote([stateDir])} ${quote([jobsDir(stateDir)])}`;
  return `[ -d ${dir} ] || { (umask 0; mkdir -p -m 1777 ${shared} 2>/dev/null); mkdir -p ${dir}; ${pruneEndRecordsCommand(stateDir)}; }`;
}

/** Removes every record (and output file) older than `days` on the node, and the sweeps' folders left empty that long. */
export function pruneEndRecordsCommand(stateDir: string, days = RECORD_RETENTION_DAYS): string {
  const minutes = Math.round(days * 24 * 60);
  const jobs = quote([jobsDir(stateDir)]);
  return (
    `find ${jobs} -mindepth 2 -maxdepth 2 -type f -mmin +${minutes} -exec rm -f {} + 2>/dev/null; ` +
    `find ${jobs} -mindepth 1 -maxdepth 1 -type d -empty -mmin +${minutes} -exec rmdir {} + 2>/dev/null; true`
  );
}

/** Removes the records and output files of the given jobs of a sweep (every attempt) on the node. */
export function removeJobRecordsCommand(stateDir: string, sweepId: string, jobIds: string[]): string {
  if (jobIds.length === 0) return 'true';
  // Encoded names hold no glob character: `<job>.*` matches that job's files only.
  const dir = quote([sweepDir(stateDir, sweepId)]);
  return `rm -f -- ${jobIds.map((jobId) => `${dir}/${encodePathPart(jobId)}.*`).join(' ')}`;
}

/** Removes all of a sweep's records and output files on the node. */
export function removeSweepRecordsCommand(stateDir: string, sweepId: string): string {
  return `rm -rf -- ${quote([sweepDir(stateDir, sweepId)])}`;
}
