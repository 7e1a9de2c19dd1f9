/**
 * A node as a sweep uses it: the user's node entry with every default applied, small enough to
 * travel in workflow history (no keys, no secrets). Pure code.
 */
import { DEFAULT_STAGGER_SECONDS, isLocalHostname, isRocmNode, type NodeConfig } from './config';

export interface SweepNode {
  /** The node's name in results and job lines: its `hostname` as the user wrote it (`:port` added when not 22). */
  name: string;
  hostname: string;
  port?: number;
  username?: string;
  identityFile?: string;
  scriptPath: string;
  pythonEnv: string;
  gpuType?: string;
  gpuCount: number;
  /** Jobs that may run at once: min(gpu_count, max_concurrent_script_jobs). */
  maxConcurrent: number;
  staggerSeconds: number;
  isLocal: boolean;
  isRocm: boolean;
  warmupCommand?: string;
  healthCommand?: string;
  diagnoseCommand?: string;
}

/** Applies the seed's defaults to one node entry of the config. */
export function toSweepNode(node: NodeConfig): SweepNode {
  const isLocal = isLocalHostname(node.hostname);
  return {
    // Two entries for one host on different ports are two nodes, and must not share a name.
    name: node.port && node.port !== 22 ? `${node.hostname}:${node.port}` : node.hostname,
    hostname: node.hostname,
    port: node.port,
    username: node.username,
    identityFile: node.identity_file,
    scriptPath: node.script_path,
    pythonEnv: node.python_env,
    gpuType: node.gpu_type,
    gpuCount: node.gpu_count,
    maxConcurrent: Math.min(node.gpu_count, node.max_concurrent_script_jobs ?? node.gpu_count),
    staggerSeconds: node.stagger_delay ?? (isLocal ? DEFAULT_STAGGER_SECONDS.localhost : DEFAULT_STAGGER_SECONDS.rig),
    isLocal,
    isRocm: isRocmNode(node),
    warmupCommand: node.warmup_command,
    healthCommand: node.health_command,
    diagnoseCommand: node.diagnose_command,
  };
}
