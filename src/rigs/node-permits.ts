/**
 * The per-node safety rules that hold across every sweep — and every coordinator — using a node:
 * one trial per GPU, at most `max_concurrent_script_jobs` trials at once, starts spaced by the
 * node's stagger, and no start while a reset and its cooldown are under way.
 *
 * They are kept by the node itself, with `flock` locks in one shared folder: a job's start
 * command takes its GPU's lock and a concurrency slot, and holds both until its last process ends,
 * so the kernel frees them even when the job, its worker or its coordinator dies (a lock handed
 * out by a workflow would have to be reclaimed from a sweep that was terminated or lost). Starts
 * and resets take the node's start lock, under which the last start time and the end of the last
 * cooldown are kept, so two sweeps cannot start HIP runtimes on one rig closer than its stagger.
 * For one sweep alone these waits are already over when the job arrives: its workflow keeps the
 * same rules, durably, and shows them in its history.
 */
import { quote } from 'shell-quote';

/** The shared folder on every node (sticky and world-writable, like /tmp, for several accounts). */
export const NODE_STATE_DIR = '/tmp/rigsweep-node';

/** The line a job prints once it holds its permit and starts: `RIGSWEEP_GO <node epoch ns>`. */
export const GO_MARKER = 'RIGSWEEP_GO';

export interface StartPermit {
  gpu: number;
  /** Trials this node runs at once, across sweeps (its `max_concurrent_script_jobs`). */
  slots: number;
  /** Seconds between two starts on this node, across sweeps (its current `stagger_delay`). */
  spacingSeconds: number;
}

/**
 * Creates the folder and the given files when any is missing (another sweep may have used fewer
 * slots or other GPUs), world-writable, in a subshell with umask 0 so the job's own umask stays.
 * The check is the shell's own `[`: once the files exist, no fork happens here.
 */
const prepareFiles = (dir: string, files: string[]) =>
  `{ ${files.map((file) => `[ -w ${dir}/${file} ]`).join(' && ')}; } || (umask 0; mkdir -p -m 1777 ${dir} 2>/dev/null; for f in ${files.join(' ')}; do : >> ${dir}/$f; done)`;

/** Reads a number of nanoseconds from a state file into a variable (`read`: no fork); anything else counts as 0. */
const readNs = (variable: string, file: string) =>
  `${variable}=0; read ${variable} < ${file} 2>/dev/null; case "$${variable}" in ''|*[!0-9]*) ${variable}=0;; esac`;

/**
 * Shell text (POSIX sh) that waits for the start permit, then prints the GO line. Locks are taken
 * on file descriptors 7-9 (read-only opens: flock needs no more), which the trial inherits through
 * `exec`: the GPU lock and the slot are held while any process of the job lives. The GPU lock is
 * waited for in line; the slots are tried in turn, since any free one will do. Few forks: it runs
 * before every job.
 */
export function startPermitCommand(permit: StartPermit, dir = NODE_STATE_DIR): string {
  const spacingNs = Math.round(permit.spacingSeconds * 1e9);
  const slots = Math.max(1, Math.floor(permit.slots));
  const slotFiles = Array.from({ length: slots }, (_, slot) => `slot-${slot}.lock`);
  return [
    prepareFiles(dir, ['start.lock', 'last-start', 'quiet-until', ...slotFiles, `gpu-${permit.gpu}.lock`]),
    `${gpuLockWait(permit.gpu, dir)} || exit 96`,
    // From the GPU's own slot: with one slot per GPU that one is free, and the first try holds.
    `rs_slot=${permit.gpu % slots}; rs_tried=0; while :; do exec 9<${dir}/slot-$rs_slot.lock || exit 96; flock -n 9 && break; rs_slot=$(((rs_slot + 1) % ${slots})); rs_tried=$((rs_tried + 1)); if [ $rs_tried -ge ${slots} ]; then rs_tried=0; sleep 0.2; fi; done`,
    `exec 7<${dir}/start.lock && flock 7 || exit 96`,
    readNs('rs_last', `${dir}/last-start`),
    readNs('rs_quiet', `${dir}/quiet-until`),
    `rs_at=$((rs_last + ${spacingNs})); [ "$rs_quiet" -gt "$rs_at" ] && rs_at=$rs_quiet`,
    `rs_now=$(date +%s%N); if [ "$rs_at" -gt "$rs_now" ]; then rs_wait=$((rs_at - rs_now)); sleep $((rs_wait / 1000000000)).$(printf %09d $((rs_wait % 1000000000))); rs_now=$(date +%s%N); fi`,
    `echo $rs_now > ${dir}/last-start; exec 7<&-`,
    `echo ${GO_MARKER} $rs_now`,
  ].join('; ');
}

/** The words with which a start command waits for its GPU's lock (fd 8). */
const gpuLockWait = (gpu: number, dir: string) => `exec 8<${dir}/gpu-${gpu}.lock && flock 8`;

/**
 * An extended regular expression for the command line of a job still waiting for (or holding, just
 * before its `exec`) GPU `gpu`'s lock. The `.` of `.lock` is written `[.]`, so a `grep -E` given
 * this pattern does not match its own command line, nor the shell that runs it.
 */
export function gpuLockWaitPattern(gpu: number, dir = NODE_STATE_DIR): string {
  return escapeEre(gpuLockWait(gpu, dir)).replace('\\.lock ', '[.]lock ');
}

/** Text matched literally by a POSIX extended regular expression (`grep -E`). */
export const escapeEre = (text: string) => text.replace(/[.\\^$*+?()|{}[\]]/g, '\\$&');

/**
 * Wraps a reset so that no sweep starts a job on the node while it runs, nor until `cooldownSeconds`
 * after it: the node's quiet window, which every start permit waits out. The reset's own exit code
 * is the command's.
 */
export function quietResetCommand(reset: string, cooldownSeconds: number, dir = NODE_STATE_DIR): string {
  const cooldownNs = Math.round(cooldownSeconds * 1e9);
  return [
    prepareFiles(dir, ['start.lock', 'last-start', 'quiet-until']),
    `exec 7<${dir}/start.lock && flock 7`,
    `sh -c ${quote([reset])}; rs_rc=$?`,
    `echo $(( $(date +%s%N) + ${cooldownNs} )) > ${dir}/quiet-until`,
    'exit $rs_rc',
  ].join('; ');
}

/** Parses the GO line; null when the line is something else. */
export function parseGoMarker(line: string): { nodeTimeNs: bigint } | null {
  const match = new RegExp(`^${GO_MARKER} (\\d+)$`).exec(line.trim());
  return match ? { nodeTimeNs: BigInt(match[1]) } : null;
}
