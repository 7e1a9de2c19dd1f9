/**
 * Sweeps for `simulateSweep`'s tests, built by hand: nodes with their stagger, and a plan of the
 * batches the planner makes from the given batching settings (defaults elsewhere).
 */
import { jobBatchingSchema, preflightSchema } from '../../../src/shared/config';
import type { SweepNode } from '../../../src/shared/nodes';
import { planBatches } from '../../../src/shared/planner';
import type { SweepPlan } from '../../../src/shared/sweep-plan';
import { node as baseNode } from './sweep-fixtures';

/** The rigs here are ROCm rigs; the stagger is every call's own. */
export function node(name: string, gpuCount: number, staggerSeconds: number, extra: Partial<SweepNode> = {}): SweepNode {
  return baseNode(name, gpuCount, { staggerSeconds, isRocm: true, ...extra });
}

export function plan(nodes: SweepNode[], totalJobs: number, batching: Record<string, unknown> = {}): SweepPlan {
  const parsed = jobBatchingSchema.parse(batching);
  return {
    ...planBatches(totalJobs, nodes.length, parsed),
    runId: 'r',
    configFile: 'c.json',
    nodes,
    skippedNodes: [],
    jobSource: { kind: 'inline' },
    totalJobs,
    resultsDir: '/tmp/r',
    outputDir: '/tmp',
    preservePaths: true,
    maxRetries: 0,
    retryBackoffSeconds: 5,
    batching: parsed,
    preflight: preflightSchema.parse({}),
  };
}

export const ids = (count: number) => Array.from({ length: count }, (_, i) => `j${i}`);
