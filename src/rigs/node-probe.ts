/**
 * Probing a node's health in one round trip: one exec prints load, memory, /dev/shm and what the
 * GPU tools see, in marked sections that node-health.ts reads back; then a few `true` execs on the
 * now-open connection time a warm round trip. Never throws: a node that cannot be reached comes
 * back as such, with the SSH error's message, so one dead rig never hides the others.
 */
import { performance } from 'node:perf_hooks';
import { assessNode, GPU_TOOL_TIMEOUT_SECONDS, type NodeHealth, parseProbeOutput, SECTION_MARKER, unreachableNode } from './node-health';
import type { NodeShell } from './node-shell';
import type { SweepNode } from '../shared/nodes';

/** All a probe needs of a node's shell, so tests can hand in a fake. */
export type ProbeShell = Pick<NodeShell, 'run'>;

export interface ProbeOptions {
  /** Longest the probe command may take once connected (the GPU tools have their own, shorter limit). */
  probeTimeoutMs?: number;
  /** `true` execs whose median is the latency. */
  latencySamples?: number;
}

const GPU_QUERY = 'nvidia-smi --query-gpu=index,name,utilization.gpu,memory.used,memory.total --format=csv,noheader';

/**
 * The probe, POSIX sh for any login shell. ROCm puts rocm-smi in /opt/rocm/bin, which a
 * non-interactive login often lacks, so it is appended (not prepended: a PATH's own copy wins).
 * A GPU tool that hangs, as rocm-smi does on a freezing rig, is killed by `timeout` (exit 124).
 */
export const PROBE_SCRIPT = [
  'PATH="$PATH:/opt/rocm/bin"',
  `gpu_tool() { if command -v "$1" >/dev/null 2>&1; then if command -v timeout >/dev/null 2>&1; then timeout ${GPU_TOOL_TIMEOUT_SECONDS} "$@" 2>&1; else "$@" 2>&1; fi; echo "${SECTION_MARKER}exit $?"; else echo '${SECTION_MARKER}missing'; fi; }`,
  `echo '${SECTION_MARKER}loadavg'; cat /proc/loadavg`,
  `echo '${SECTION_MARKER}meminfo'; grep -E '^(MemTotal|MemAvailable):' /proc/meminfo`,
  `echo '${SECTION_MARKER}shm'; df -P /dev/shm 2>&1`,
  `echo '${SECTION_MARKER}rocm-smi'; gpu_tool rocm-smi`,
  `echo '${SECTION_MARKER}nvidia-smi'; gpu_tool ${GPU_QUERY}`,
].join('\n');

/** Probes one node; resolves to its health, unreachable included. */
export async function probeNode(shell: ProbeShell, node: SweepNode, options: ProbeOptions = {}): Promise<NodeHealth> {
  const timeoutMs = options.probeTimeoutMs ?? 30_000;
  try {
    const probe = await shell.run(PROBE_SCRIPT, { timeoutMs });
    if (probe.timedOut) return unreachableNode(node, `connected, but the probe did not finish within ${timeoutMs / 1000} s`);
    const latencyMs = await warmRoundTripMs(shell, options.latencySamples ?? 3);
    return assessNode(node, parseProbeOutput(probe.stdout), latencyMs);
  } catch (error) {
    return unreachableNode(node, withoutNodePrefix((error as Error).message, node.name));
  }
}

/** Probes every node at once: a dead rig costs its connect timeout, not a turn in a queue. */
export function probeNodes(nodes: SweepNode[], shellFor: (node: SweepNode) => ProbeShell, options: ProbeOptions = {}): Promise<NodeHealth[]> {
  return Promise.all(nodes.map((node) => probeNode(shellFor(node), node, options)));
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
