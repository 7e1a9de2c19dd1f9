/**
 * The one node probe, in one exec: the node answers; on ROCm nodes, if asked, the seed's HIP
 * kernel-cache clear; if asked, the node's `health_command` in script_path; if asked, load, memory,
 * /dev/shm and what the GPU tools see, which node-health.ts reads back. Pre-flight, the probe
 * before a batch, the probe of a lost node and `rigsweep nodes` all run this script and read it
 * with `readProbe`; how the command is run (killable in an activity, plainly from the CLI) is the
 * caller's.
 */
import { performance } from 'node:perf_hooks';
import type { SweepNode } from '../shared/nodes';
import type { NodeProbe } from '../shared/results';
import { shellWord } from './command';
import {
  assessNode,
  GPU_TOOL_TIMEOUT_SECONDS,
  type NodeHealth,
  parseProbeOutput,
  probeSections,
  SECTION_MARKER,
  toolRun,
  unreachableNode,
} from './node-health';
import type { NodeShell } from './node-shell';

/** The seed's once-per-run clear of compiled HIP kernels, so a stale cache cannot poison a sweep. */
export const HIP_CACHE_CLEAR = 'rm -rf ~/.cache/hip ~/.cache/amd_comgr ~/.cache/kernels';
/** Longest a probe may take once connected (its GPU tools have their own, shorter limit). */
export const PROBE_TIMEOUT_MS = 30_000;
const OUTPUT_TAIL_CHARS = 300;

/** What a probe is asked to do besides reaching the node. */
export interface ProbeAsk {
  /** Clear the HIP kernel cache (ROCm nodes only). */
  clearHipCache?: boolean;
  /** Run the node's `health_command`, if it has one. */
  health?: boolean;
  /** Read load, memory, /dev/shm and the GPUs (for `rigsweep nodes`). */
  readings?: boolean;
}

/** How the probe's command ended, whoever ran it. */
export interface ProbeExit {
  exitCode: number | null;
  stdout: string;
  stderr: string;
  timedOut: boolean;
}

const GPU_QUERY = 'nvidia-smi --query-gpu=index,name,utilization.gpu,memory.used,memory.total --format=csv,noheader';

/**
 * The readings, POSIX sh for any login shell. ROCm puts rocm-smi in /opt/rocm/bin, which a
 * non-interactive login often lacks, so it is appended (not prepended: a PATH's own copy wins).
 * A GPU tool that hangs, as rocm-smi does on a freezing rig, is killed by `timeout` (exit 124).
 */
const READINGS_SCRIPT = [
  'PATH="$PATH:/opt/rocm/bin"',
  `gpu_tool() { if command -v "$1" >/dev/null 2>&1; then if command -v timeout >/dev/null 2>&1; then timeout ${GPU_TOOL_TIMEOUT_SECONDS} "$@" 2>&1; else "$@" 2>&1; fi; echo "${SECTION_MARKER}exit $?"; else echo '${SECTION_MARKER}missing'; fi; }`,
  `echo '${SECTION_MARKER}loadavg'; cat /proc/loadavg`,
  `echo '${SECTION_MARKER}meminfo'; grep -E '^(MemTotal|MemAvailable):' /proc/meminfo`,
  `echo '${SECTION_MARKER}shm'; df -P /dev/shm 2>&1`,
  `echo '${SECTION_MARKER}rocm-smi'; gpu_tool rocm-smi`,
  `echo '${SECTION_MARKER}nvidia-smi'; gpu_tool ${GPU_QUERY}`,
];

type ProbeTarget = Pick<SweepNode, 'name' | 'isRocm' | 'scriptPath' | 'healthCommand'>;

/** The probe's script: each part prints a marked section, so one exec answers every question. */
export function probeScript(node: ProbeTarget, ask: ProbeAsk): string {
  const parts = [`echo '${SECTION_MARKER}reached'`];
  if (ask.clearHipCache && node.isRocm) parts.push(`echo '${SECTION_MARKER}hip-cache'; ${HIP_CACHE_CLEAR}; echo "${SECTION_MARKER}exit $?"`);
  // A subshell, so a health command that says `exit 1` ends only itself.
  if (ask.health && node.healthCommand)
    parts.push(`echo '${SECTION_MARKER}health'; ( cd ${shellWord(node.scriptPath)} && { ${node.healthCommand}\n} ) 2>&1; echo "${SECTION_MARKER}exit $?"`);
  if (ask.readings) parts.push(...READINGS_SCRIPT);
  return parts.join('\n');
}

/** Reads what the probe's command printed; `ms` is how long it took. */
export function readProbe(node: ProbeTarget, ask: ProbeAsk, exit: ProbeExit, ms: number): NodeProbe & { readings?: ReturnType<typeof parseProbeOutput> } {
  const sections = probeSections(exit.stdout);
  const seconds = PROBE_TIMEOUT_MS / 1000;
  if (!sections.has('reached')) {
    return unreachableProbe(
      node,
      exit.timedOut ? `no answer within ${seconds} s` : `unexpected answer: ${(exit.stderr.trim() || exit.stdout.trim()).slice(-OUTPUT_TAIL_CHARS)}`,
    );
  }
  const hip = toolRun(sections.get('hip-cache'));
  const health = toolRun(sections.get('health'));
  const healthAsked = Boolean(ask.health && node.healthCommand);
  if (exit.timedOut && !(healthAsked && health && health.exitCode === null))
    return unreachableProbe(node, `connected, but the probe did not finish within ${seconds} s`);
  const hipCleared = ask.clearHipCache && node.isRocm ? hip?.exitCode === 0 : null;
  const healthy = healthAsked ? health?.exitCode === 0 : null;
  const latency = Math.round(ms);
  let message: string;
  if (healthy === false) {
    const said = health?.output.trim().slice(-OUTPUT_TAIL_CHARS) ?? '';
    message =
      health?.exitCode === null || health === null
        ? `health_command gave no answer within ${seconds} s`
        : `health_command exited ${health.exitCode}${said ? `: ${said}` : ''}`;
  } else {
    const note = hipCleared === null ? '' : hipCleared ? ', HIP kernel cache cleared' : ', HIP kernel cache NOT cleared';
    message = `${healthy ? 'healthy' : 'reachable'} (${latency} ms)${note}`;
  }
  const probe: NodeProbe = { node: node.name, reachable: true, latency_ms: latency, hip_cache_cleared: hipCleared, healthy, message };
  return ask.readings ? { ...probe, readings: parseProbeOutput(exit.stdout) } : probe;
}

/** A node the probe could not reach or read; `reason` is why. */
export function unreachableProbe(node: Pick<SweepNode, 'name'>, reason: string): NodeProbe {
  return {
    node: node.name,
    reachable: false,
    latency_ms: null,
    hip_cache_cleared: null,
    healthy: null,
    message: `unreachable: ${withoutNodePrefix(reason, node.name)}`,
  };
}

/** All `rigsweep nodes` needs of a node's shell, so tests can hand in a fake. */
export type ProbeShell = Pick<NodeShell, 'run'>;

export interface HealthOptions {
  /** `true` execs whose median is the latency. */
  latencySamples?: number;
}

/**
 * `rigsweep nodes`: the probe with its readings and the health command, then a few `true` execs
 * on the now-open connection to time a warm round trip. Never throws: a node that cannot be
 * reached comes back as such, with the SSH error's message, so one dead rig never hides the others.
 */
export async function nodeHealth(shell: ProbeShell, node: SweepNode, options: HealthOptions = {}): Promise<NodeHealth> {
  const ask: ProbeAsk = { health: true, readings: true };
  const started = performance.now();
  let probe: ReturnType<typeof readProbe>;
  try {
    probe = readProbe(node, ask, await shell.run(probeScript(node, ask), { timeoutMs: PROBE_TIMEOUT_MS }), performance.now() - started);
  } catch (error) {
    probe = unreachableProbe(node, (error as Error).message);
  }
  if (!probe.reachable || !probe.readings) return unreachableNode(node, probe.message.replace(/^unreachable: /, ''));
  const health = assessNode(node, probe.readings, await warmRoundTripMs(shell, options.latencySamples ?? 3));
  if (probe.healthy === false) health.warnings.push({ label: 'health_command', message: probe.message });
  return health;
}

/** Every node at once: a dead rig costs its connect timeout, not a turn in a queue. */
export function nodesHealth(nodes: SweepNode[], shellFor: (node: SweepNode) => ProbeShell, options: HealthOptions = {}): Promise<NodeHealth[]> {
  return Promise.all(nodes.map((node) => nodeHealth(shellFor(node), node, options)));
}

/** Median of `samples` sequential `true` execs, in ms with 0.1 ms precision; null if one fails. */
async function warmRoundTripMs(shell: ProbeShell, samples: number): Promise<number | null> {
  const durations: number[] = [];
  for (let i = 0; i < samples; i += 1) {
    const started = performance.now();
    const result = await shell.run('true', { timeoutMs: 10_000 });
    if (result.timedOut || result.exitCode !== 0) return null;
    durations.push(performance.now() - started);
  }
  durations.sort((a, b) => a - b);
  return durations.length === 0 ? null : Math.round(durations[Math.floor(durations.length / 2)] * 10) / 10;
}

/** SSH errors start with "<node>: "; the report already names the node. */
function withoutNodePrefix(message: string, name: string): string {
  return message.startsWith(`${name}: `) ? message.slice(name.length + 2) : message;
}
