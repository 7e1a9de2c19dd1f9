/**
 * The user's `distributed_config.json`, as rigsweep reads it.
 *
 * The file belongs to the user and holds much more than rigsweep needs (`sieve_defaults`,
 * `search_bounds`, ...): unknown sections and unknown node keys are ignored, never rejected.
 * Keys keep the user's snake_case. Pure code: imported by the CLI, the activities and tests.
 */
import { z } from 'zod';
import { isModeName, MODES } from './modes';
import { parseTemplate, TRIAL_PLACEHOLDERS, WARMUP_PLACEHOLDERS } from './templates';

const positiveInt = z.number().int().positive();
const nonNegative = z.number().finite().nonnegative();

/** A command template whose placeholders are checked when the config loads. */
const template = (allowed: readonly string[]) =>
  z
    .string()
    .min(1)
    .superRefine((text, ctx) => {
      const parsed = parseTemplate(text, allowed);
      if (!parsed.ok) ctx.addIssue({ code: 'custom', message: parsed.error });
    });

export const nodeConfigSchema = z.looseObject({
  hostname: z.string().min(1),
  username: z.string().min(1).optional(),
  gpu_count: z.number().int().nonnegative(),
  gpu_type: z.string().optional(),
  script_path: z.string().min(1),
  python_env: z.string().min(1).default('python3'),
  max_concurrent_script_jobs: positiveInt.optional(),
  port: z.number().int().min(1).max(65535).optional(),
  identity_file: z.string().min(1).optional(),
  /** Seconds between two job starts on this node; 0 allowed. */
  stagger_delay: nonNegative.optional(),
  /** Run once per GPU, one GPU at a time, before the first batch (e.g. a tiny HIP kernel). */
  warmup_command: template(WARMUP_PLACEHOLDERS).optional(),
  /** Run in script_path before every batch but the first; a non-zero exit leaves the node out of that batch. */
  health_command: z.string().min(1).optional(),
  /** Run in script_path after a job of this node failed, before any retry; its output tail goes into the job's record. */
  diagnose_command: z.string().min(1).optional(),
});
export type NodeConfig = z.infer<typeof nodeConfigSchema>;

/** A batching mode: one of the list in src/shared/modes.ts; any other name is refused, never read as barrier. */
const batchingMode = z.string().refine(isModeName, { error: (issue) => `unknown mode "${String(issue.input)}" (known: ${MODES.join(', ')})` });

export const jobBatchingSchema = z.strictObject({
  enabled: z.boolean().default(true),
  /** barrier: every node drains between batches; rolling: each node drains, resets and cools down on its own. */
  mode: batchingMode.default('barrier'),
  max_jobs_per_batch: positiveInt.default(20),
  max_jobs_per_node_per_batch: positiveInt.default(6),
  inter_batch_cooldown_seconds: nonNegative.default(5),
  allocator_reset_between_batches: z.boolean().default(true),
  /** Stop starting new batches once a batch failed above this share of its jobs (like Ansible's). */
  max_fail_percentage: z.number().finite().min(0).max(100).optional(),
});
export type JobBatching = z.infer<typeof jobBatchingSchema>;
/** What a sweep's `batching` input may override: the same keys, all optional. */
export const jobBatchingOverrideSchema = z.strictObject({
  enabled: z.boolean().optional(),
  mode: batchingMode.optional(),
  max_jobs_per_batch: positiveInt.optional(),
  max_jobs_per_node_per_batch: positiveInt.optional(),
  inter_batch_cooldown_seconds: nonNegative.optional(),
  allocator_reset_between_batches: z.boolean().optional(),
  max_fail_percentage: z.number().finite().min(0).max(100).optional(),
});
export type JobBatchingOverride = z.infer<typeof jobBatchingOverrideSchema>;

/** Once per run, before the first batch; never fatal unless `required`. */
export const preflightSchema = z.strictObject({
  enabled: z.boolean().default(true),
  /** The seed's HIP kernel-cache clear on ROCm nodes. */
  clear_hip_cache: z.boolean().default(true),
  /** Fail the sweep when a node cannot be reached (default: leave that node out, with a warning). */
  required: z.boolean().default(false),
  warmup_timeout_seconds: z.number().finite().positive().default(300),
});
export type Preflight = z.infer<typeof preflightSchema>;

/** Before every batch but the first, each node is probed (reachable, and its `health_command` passes). */
export const nodeHealthSchema = z.strictObject({
  probe_before_batch: z.boolean().default(true),
  /** A node that fails: its jobs go to the others (redistribute), the sweep waits for it, or the sweep fails. */
  on_failure: z.enum(['redistribute', 'wait', 'fail']).default('redistribute'),
  /** Consecutive failed probes after which a node is quarantined: left out for the rest of the sweep. */
  quarantine_after: positiveInt.default(3),
  /** With on_failure "wait": seconds between probes of a failing node. */
  wait_seconds: z.number().finite().positive().default(30),
});
export type NodeHealthPolicy = z.infer<typeof nodeHealthSchema>;

export const clusterConfigSchema = z
  .looseObject({
    nodes: z.array(nodeConfigSchema).min(1),
    // A section the user wrote without batching keys still gets every default.
    job_batching: jobBatchingSchema.default(jobBatchingSchema.parse({})),
    preflight: preflightSchema.default(preflightSchema.parse({})),
    node_health: nodeHealthSchema.default(nodeHealthSchema.parse({})),
    trial_command: template(TRIAL_PLACEHOLDERS).optional(),
    trial_output: template(TRIAL_PLACEHOLDERS).optional(),
    /** Seconds a `trials: N` trial may run; the SCRIPT JOB SPEC default. */
    trial_timeout: z.number().finite().positive().default(7200),
    /** Seconds a job on a rig outlives the loss of contact: the rig kills it once its lease is this old. */
    lease_seconds: z.number().finite().min(2).max(3600).default(20),
    /** Seconds before the first retry of a failed run; doubles per attempt, at most 60. */
    retry_backoff_seconds: nonNegative.default(5),
  })
  .superRefine((config, ctx) => {
    const seen = new Map<string, number>();
    config.nodes.forEach((node, index) => {
      const key = `${node.hostname}:${node.port ?? 22}`;
      const first = seen.get(key);
      if (first !== undefined) {
        ctx.addIssue({
          code: 'custom',
          path: ['nodes', index, 'hostname'],
          message: `duplicate node "${node.hostname}" (also nodes[${first}])`,
        });
      } else seen.set(key, index);
    });
    if (!config.nodes.some((node) => node.gpu_count > 0)) {
      ctx.addIssue({ code: 'custom', path: ['nodes'], message: 'no usable node: every node has gpu_count 0' });
    }
  });
export type ClusterConfig = z.infer<typeof clusterConfigSchema>;

/** Default seconds between job starts: HIP initialisations on the rigs collide below this. */
export const DEFAULT_STAGGER_SECONDS = { localhost: 3.0, rig: 2.0 } as const;

/** True for the node this process runs on: the seed's rule, by hostname. */
export function isLocalHostname(hostname: string): boolean {
  return hostname === 'localhost' || hostname === '127.0.0.1' || hostname === '::1';
}

/** The seed's rule: a node is ROCm when its interpreter lives in a ROCm venv. */
export function isRocmNode(node: Pick<NodeConfig, 'python_env'>): boolean {
  return node.python_env.toLowerCase().includes('rocm');
}
