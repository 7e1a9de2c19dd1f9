/**
 * What a node's health probe printed, read back: load, memory, /dev/shm and the GPUs the vendor
 * tool sees, with the warnings that say a rig needs a look before it gets trials. Pure code (no
 * Node APIs), so a probe before every batch can reuse it wherever it runs. Field names are
 * snake_case because `rigsweep nodes --json` prints these objects as they are, like the Results JSON.
 */
import type { SweepNode } from '../shared/nodes';

/** One GPU as rocm-smi or nvidia-smi reported it. */
export interface GpuReading {
  index: number;
  /** nvidia-smi names its GPUs; rocm-smi's concise table does not. */
  name: string | null;
  /** `unknown`: the driver could not say what the GPU is doing, the signature of the rigs' freezes. */
  state: 'ok' | 'unknown';
  temperature_c: number | null;
  utilization_percent: number | null;
}

/** A short label for the table's warnings column and the full sentence printed below it. */
export interface HealthWarning {
  label: string;
  message: string;
}

export type GpuTool = 'rocm-smi' | 'nvidia-smi';

export interface NodeHealth {
  node: string;
  reachable: boolean;
  /** Median of a few warm round trips (a `true` exec on the open connection). */
  latency_ms: number | null;
  gpus_configured: number;
  /** The tool the GPUs were read with; null when the node has neither. */
  gpu_tool: GpuTool | null;
  gpus_seen: number | null;
  gpus: GpuReading[];
  load_1m: number | null;
  mem_total_bytes: number | null;
  mem_available_bytes: number | null;
  shm_used_percent: number | null;
  warnings: HealthWarning[];
}

/** A GPU tool's section of the probe: what it printed and how it exited (124: killed by `timeout`). */
export interface ToolRun {
  output: string;
  exitCode: number | null;
}

/** The probe's sections, parsed; a value is null when its section is missing or unreadable. */
export interface ProbeReadings {
  load1m: number | null;
  memTotalBytes: number | null;
  memAvailableBytes: number | null;
  shmUsedPercent: number | null;
  tools: Record<GpuTool, ToolRun | null>;
}

/** Starts every section line of the probe's output; see node-probe.ts for the script that prints them. */
export const SECTION_MARKER = '@@rigsweep:';
/** Seconds a GPU tool may take before `timeout` kills it; a hung rocm-smi is itself a warning. */
export const GPU_TOOL_TIMEOUT_SECONDS = 15;

const LOW_MEMORY_FRACTION = 0.1;
const SHM_FULL_PERCENT = 80;

/** The probe's output by section name; a tool's `exit N` or `missing` line stays in the section it ends. */
export function probeSections(stdout: string): Map<string, string[]> {
  const sections = new Map<string, string[]>();
  let current: string[] | undefined;
  for (const line of stdout.split('\n')) {
    const name = line.startsWith(SECTION_MARKER) ? line.slice(SECTION_MARKER.length).split(' ')[0] : undefined;
    if (name && name !== 'exit' && name !== 'missing') sections.set(name, (current = []));
    else current?.push(line);
  }
  return sections;
}

/** Reads the readings sections of the probe's output. */
export function parseProbeOutput(stdout: string): ProbeReadings {
  const sections = probeSections(stdout);
  const text = (name: string) => sections.get(name)?.join('\n') ?? '';
  const meminfo = (key: string) => {
    const kib = new RegExp(`^${key}:\\s+(\\d+)\\s*kB`, 'm').exec(text('meminfo'))?.[1];
    return kib === undefined ? null : Number(kib) * 1024;
  };
  return {
    load1m: numberOrNull(/^\s*(\d+(?:\.\d+)?)\s/.exec(text('loadavg'))?.[1]),
    memTotalBytes: meminfo('MemTotal'),
    memAvailableBytes: meminfo('MemAvailable'),
    // `df -P`: the last line's Capacity column, e.g. "tmpfs 12288000 0 12288000 0% /dev/shm".
    shmUsedPercent: numberOrNull(/\s(\d+)%\s/.exec(text('shm').trim().split('\n').pop() + ' ')?.[1]),
    tools: { 'rocm-smi': toolRun(sections.get('rocm-smi')), 'nvidia-smi': toolRun(sections.get('nvidia-smi')) },
  };
}

/** A section that ends in `exit N` (a GPU tool, the health command): what it printed and how it exited. */
export function toolRun(lines: string[] | undefined): ToolRun | null {
  if (!lines || lines.some((line) => line.startsWith(`${SECTION_MARKER}missing`))) return null;
  const exitLine = lines.findIndex((line) => line.startsWith(`${SECTION_MARKER}exit`));
  const output = (exitLine < 0 ? lines : lines.slice(0, exitLine)).join('\n');
  return { output, exitCode: exitLine < 0 ? null : numberOrNull(lines[exitLine].split(' ')[1]) };
}

/**
 * Reads rocm-smi's concise table, in any of its layouts (ROCm 1-5: `GPU Temp AvgPwr ...`; ROCm 6:
 * `Device Node IDs Temp ...` over two header lines), between the ERROR lines it prints around it.
 * Columns are left-aligned under their headers, so the Perf level is read at its header's column;
 * a GPU whose level is `unknown` or `N/A` is one the driver has lost.
 */
export function parseRocmSmi(output: string): GpuReading[] {
  const lines = output.split('\n');
  const headerAt = lines.findIndex((line) => /^\s*(GPU|Device)\s/.test(line) && /\bTemp\b/.test(line));
  if (headerAt < 0) return [];
  const header = lines[headerAt];
  const headerIndent = indentOf(header);
  const perfColumn = header.search(/\bPerf\b/);
  const gpus: GpuReading[] = [];
  for (const line of lines.slice(headerAt + 1)) {
    if (/^=+/.test(line.trim()) && gpus.length > 0) break;
    const index = /^\s*(\d+)\s/.exec(line)?.[1];
    // A name line under a device row (ROCm 6) is indented past the Device column.
    if (index === undefined || indentOf(line) > headerIndent + 3) continue;
    const tokens = line
      .trim()
      .split(/\s+/)
      .map((token) => token.replace(/,$/, ''));
    const perf = perfColumn >= 0 ? tokenAt(line, perfColumn) : null;
    const lost = tokens.some((token) => token.toLowerCase() === 'unknown') || perf?.toUpperCase() === 'N/A';
    const temperature = tokens.map((token) => /^(\d+(?:\.\d+)?)(?:°C|C|c)$/.exec(token)?.[1]).find((value) => value !== undefined);
    const percents = tokens.filter((token) => /^\d+(?:\.\d+)?%$/.test(token));
    const utilization = /\bGPU%\s*$/.test(header) ? percents.at(-1) : undefined;
    gpus.push({
      index: Number(index),
      name: null,
      state: lost ? 'unknown' : 'ok',
      temperature_c: numberOrNull(temperature),
      utilization_percent: numberOrNull(utilization?.slice(0, -1)),
    });
  }
  return gpus;
}

/**
 * Reads `nvidia-smi --query-gpu=index,name,utilization.gpu,memory.used,memory.total
 * --format=csv,noheader`: one line per GPU, e.g. `0, NVIDIA GeForce RTX 3080 Ti, 7 %, 712 MiB,
 * 12288 MiB`. A GPU whose utilization is not a number (`[N/A]`, `[Unknown Error]`, `[GPU is
 * lost]`) is in an unknown state; lines that are not rows (driver errors) are skipped.
 */
export function parseNvidiaSmi(output: string): GpuReading[] {
  const gpus: GpuReading[] = [];
  for (const line of output.split('\n')) {
    const fields = line.split(',').map((field) => field.trim());
    if (fields.length < 5 || !/^\d+$/.test(fields[0])) continue;
    const utilization = /^(\d+(?:\.\d+)?)\s*%$/.exec(fields.at(-3)!)?.[1];
    gpus.push({
      index: Number(fields[0]),
      name: fields.slice(1, -3).join(', '),
      state: utilization === undefined ? 'unknown' : 'ok',
      temperature_c: null,
      utilization_percent: numberOrNull(utilization),
    });
  }
  return gpus;
}

/** The node's health from its readings: GPUs read with the node's own vendor tool first, and every warning. */
export function assessNode(node: Pick<SweepNode, 'name' | 'gpuCount' | 'isRocm'>, readings: ProbeReadings, latencyMs: number | null): NodeHealth {
  const order: GpuTool[] = node.isRocm ? ['rocm-smi', 'nvidia-smi'] : ['nvidia-smi', 'rocm-smi'];
  const tool = order.find((name) => readings.tools[name] !== null) ?? null;
  const run = tool ? readings.tools[tool]! : null;
  const gpus = tool && run ? (tool === 'rocm-smi' ? parseRocmSmi(run.output) : parseNvidiaSmi(run.output)) : [];
  const health: NodeHealth = {
    node: node.name,
    reachable: true,
    latency_ms: latencyMs,
    gpus_configured: node.gpuCount,
    gpu_tool: tool,
    gpus_seen: tool ? gpus.length : null,
    gpus,
    load_1m: readings.load1m,
    mem_total_bytes: readings.memTotalBytes,
    mem_available_bytes: readings.memAvailableBytes,
    shm_used_percent: readings.shmUsedPercent,
    warnings: [],
  };
  health.warnings = warningsFor(health, run);
  return health;
}

/** A node that could not be probed at all; `reason` is the SSH error's message. */
export function unreachableNode(node: Pick<SweepNode, 'name' | 'gpuCount'>, reason: string): NodeHealth {
  return {
    node: node.name,
    reachable: false,
    latency_ms: null,
    gpus_configured: node.gpuCount,
    gpu_tool: null,
    gpus_seen: null,
    gpus: [],
    load_1m: null,
    mem_total_bytes: null,
    mem_available_bytes: null,
    shm_used_percent: null,
    warnings: [{ label: 'unreachable', message: `unreachable: ${reason}` }],
  };
}

function warningsFor(health: NodeHealth, run: ToolRun | null): HealthWarning[] {
  const warnings: HealthWarning[] = [];
  const tool = health.gpu_tool;
  if (tool && run?.exitCode === 124) {
    warnings.push({ label: `${tool} hung`, message: `${tool} did not answer within ${GPU_TOOL_TIMEOUT_SECONDS} s (a hung GPU driver?)` });
  }
  if (tool && health.gpus_seen !== null && health.gpus_seen < health.gpus_configured) {
    const said = health.gpus_seen === 0 && run ? firstLine(run.output) : '';
    warnings.push({
      label: `GPUs ${health.gpus_seen}/${health.gpus_configured}`,
      message: `${tool} sees ${health.gpus_seen} of ${health.gpus_configured} configured GPUs${said ? ` (${tool}: ${said})` : ''}`,
    });
  }
  const lost = health.gpus.filter((gpu) => gpu.state === 'unknown').map((gpu) => gpu.index);
  if (lost.length > 0) {
    const which = `GPU${lost.length > 1 ? 's' : ''} ${lost.join(', ')}`;
    warnings.push({ label: `${which} unknown`, message: `${which} in an unknown state per ${tool} (the signature of a freezing rig)` });
  }
  const { mem_available_bytes: available, mem_total_bytes: total } = health;
  if (available !== null && total && available < total * LOW_MEMORY_FRACTION) {
    warnings.push({
      label: 'low memory',
      message: `only ${formatBytes(available)} of ${formatBytes(total)} memory available (< ${LOW_MEMORY_FRACTION * 100}%)`,
    });
  }
  if (health.shm_used_percent !== null && health.shm_used_percent > SHM_FULL_PERCENT) {
    warnings.push({ label: `/dev/shm ${health.shm_used_percent}%`, message: `/dev/shm is ${health.shm_used_percent}% full (> ${SHM_FULL_PERCENT}%)` });
  }
  return warnings;
}

/** `12.3 GiB`, the unit free(1) -h would pick. */
export function formatBytes(bytes: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit += 1;
  }
  return `${unit === 0 ? value : value.toFixed(1)} ${units[unit]}`;
}

/** The token that starts exactly at `column` (columns of these tables are left-aligned), else null. */
function tokenAt(line: string, column: number): string | null {
  if (column > 0 && line[column - 1] !== ' ') return null;
  return /^\S+/.exec(line.slice(column))?.[0] ?? null;
}

function indentOf(line: string): number {
  return line.length - line.trimStart().length;
}

function firstLine(text: string): string {
  return (
    text
      .split('\n')
      .map((line) => line.trim())
      .find((line) => line !== '' && !/^=+/.test(line)) ?? ''
  );
}

function numberOrNull(text: string | undefined): number | null {
  if (text === undefined || text.trim() === '') return null;
  const value = Number(text);
  return Number.isFinite(value) ? value : null;
}
