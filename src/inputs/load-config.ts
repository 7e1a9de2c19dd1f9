/**
 * Loads the user's `distributed_config.json` unchanged: validated with zod, unknown sections
 * ignored, nodes with `gpu_count: 0` set aside with a notice (the user's way to switch one off).
 */
import { resolve } from 'node:path';
import { clusterConfigSchema, type ClusterConfig, type JobBatching, type JobBatchingOverride, jobBatchingSchema } from '../shared/config';
import { toSweepNode, type SweepNode } from '../shared/nodes';
import { describeZodIssues, InputError } from './input-error';
import { readJsonFile } from './read-json';

export interface LoadedConfig {
  path: string;
  digest: string;
  config: ClusterConfig;
  nodes: SweepNode[];
  skippedNodes: { name: string; reason: string }[];
}

export async function loadConfig(path: string): Promise<LoadedConfig> {
  const absolute = resolve(path);
  const file = await readJsonFile(absolute, 'cluster config');
  const parsed = clusterConfigSchema.safeParse(file.value);
  if (!parsed.success) throw new InputError(absolute, describeZodIssues(parsed.error));
  const config = parsed.data;
  const usable = config.nodes.filter((node) => node.gpu_count > 0);
  return {
    path: absolute,
    digest: file.digest,
    config,
    nodes: usable.map(toSweepNode),
    skippedNodes: config.nodes.filter((node) => node.gpu_count === 0).map((node) => ({ name: node.hostname, reason: 'gpu_count is 0 (switched off)' })),
  };
}

/** The config's `job_batching` with a sweep's overrides on top, validated as one. */
export function effectiveBatching(config: ClusterConfig, override: JobBatchingOverride | undefined, source: string): JobBatching {
  const merged = jobBatchingSchema.safeParse({ ...config.job_batching, ...override });
  if (!merged.success) throw new InputError(source, describeZodIssues(merged.error, ['batching']));
  return merged.data;
}
