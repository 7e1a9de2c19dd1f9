/**
 * `rigsweep nodes`: every node's health at a glance — reachable, SSH latency, GPUs configured and
 * seen, load, free memory, /dev/shm — without a Temporal server. The config is loaded exactly as
 * `plan` loads it (bad input exits 2); every node is probed at once, with a short connect
 * timeout, so a dead rig costs seconds. Exits 1 when any node has a warning, so scripts can gate
 * a sweep on it.
 */
import Table from 'cli-table3';
import { loadConfig } from '../inputs/load-config';
import { LocalShell } from '../rigs/local-shell';
import { formatBytes, type NodeHealth } from '../rigs/node-health';
import { nodesHealth } from '../rigs/node-probe';
import { shellFor } from '../rigs/node-shell';
import { SshPool } from '../rigs/ssh-pool';
import { EXIT } from './exit-codes';

export interface NodesFlags {
  config: string;
  json?: boolean;
}

/** A rig that does not finish its SSH handshake in this time is reported unreachable. */
export const NODES_CONNECT_TIMEOUT_MS = 5000;
/** 1, like a sweep with failed jobs: something needs a look. */
const EXIT_UNHEALTHY = EXIT.someJobsFailed;

const out = (line: string) => process.stdout.write(line + '\n');
const err = (line: string) => process.stderr.write(line + '\n');

/** Probes every node of the config and prints the table (or `--json`); 0 when all are healthy, else 1. */
export async function nodesCommand(flags: NodesFlags): Promise<number> {
  const loaded = await loadConfig(flags.config);
  for (const skipped of loaded.skippedNodes) err(`notice: node ${skipped.name} skipped: ${skipped.reason}`);
  const ssh = new SshPool({ readyTimeoutMs: NODES_CONNECT_TIMEOUT_MS });
  const local = new LocalShell();
  let report: NodeHealth[];
  try {
    report = await nodesHealth(loaded.nodes, (node) => shellFor(node, ssh, local));
  } finally {
    await ssh.close();
  }
  if (flags.json) out(JSON.stringify(report, null, 2));
  else for (const line of healthReport(report)) out(line);
  return report.some((health) => health.warnings.length > 0) ? EXIT_UNHEALTHY : EXIT.ok;
}

/** The table, one row per node, then one line per warning and a verdict. */
export function healthReport(report: NodeHealth[]): string[] {
  const table = new Table({
    head: ['node', 'reachable', 'latency ms', 'GPUs cfg', 'GPUs seen', 'load 1m', 'free memory', '/dev/shm', 'warnings'],
    colAligns: ['left', 'left', 'right', 'right', 'right', 'right', 'right', 'right', 'left'],
    style: { head: [], border: [], compact: true },
  });
  for (const health of report) table.push(tableRow(health));
  const warnings = report.flatMap((health) => health.warnings.map((warning) => `warning: ${health.node}: ${warning.message}`));
  const unhealthy = report.filter((health) => health.warnings.length > 0).length;
  const verdict = unhealthy === 0 ? `all ${report.length} nodes healthy` : `${unhealthy} of ${report.length} nodes need a look`;
  return [table.toString(), ...warnings, verdict];
}

function tableRow(health: NodeHealth): string[] {
  const dash = (value: number | null, text: (value: number) => string) => (value === null ? '-' : text(value));
  const { mem_available_bytes: available, mem_total_bytes: total } = health;
  const freeMemory = available === null ? '-' : `${formatBytes(available)}${total ? ` (${Math.round((available / total) * 100)}%)` : ''}`;
  return [
    health.node,
    health.reachable ? 'yes' : 'NO',
    dash(health.latency_ms, (ms) => ms.toFixed(1)),
    String(health.gpus_configured),
    dash(health.gpus_seen, String),
    dash(health.load_1m, (load) => load.toFixed(2)),
    freeMemory,
    dash(health.shm_used_percent, (percent) => `${percent}%`),
    health.warnings.map((warning) => warning.label).join(', ') || '-',
  ];
}
