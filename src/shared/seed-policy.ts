/**
 * The seed coordinator's dispatch policy on paper: how long `scripts_coordinator.py` takes to run
 * N trials of a fixed length on a cluster shape, computed from its algorithm as
 * `seed-system.md` ("Execution") describes it. rigsweep's performance is stated against this
 * figure and against the stagger bound, so a user can see what the new dispatcher buys on their
 * own shape. Pure code: it imports nothing from Node.
 */

/** What the seed policy needs to know of a node; a `SweepNode` fits. */
export interface SeedNodeShape {
  name: string;
  gpuCount: number;
  /** min(gpu_count, max_concurrent_script_jobs): how many GPU lanes the seed opens at most. */
  maxConcurrent: number;
  staggerSeconds: number;
  /** localhost gets no allocator reset. */
  isLocal: boolean;
}

export interface SeedPolicyOptions {
  trialSeconds: number;
  /** Above this many jobs the seed batches; also the batch size. Default 20. */
  maxJobsPerBatch?: number;
  /** Default 6 (the seed's constant for scorer trials). */
  maxJobsPerNodePerBatch?: number;
  /** Default 5. */
  cooldownSeconds?: number;
  /** `drop_caches` on every rig plus the 2 s pause before each batch but the first. Default true. */
  allocatorReset?: boolean;
  /** The fixed pause after the resets. Default 2. */
  resetPauseSeconds?: number;
  /** How long one rig's reset call (a fresh `ssh`, `sync`, `drop_caches`) takes. Default 0. */
  resetCallSeconds?: number;
}

/** One seed batch; times are seconds from the first job's start. */
export interface SeedPolicyBatch {
  /** 1-based. */
  batch: number;
  /** Jobs each node runs in this batch, in node order. */
  jobsPerNode: number[];
  start: number;
  end: number;
}

export interface SeedPolicySweep {
  batches: SeedPolicyBatch[];
  /** From the first job's start to the last job's end. */
  makespan: number;
}

/**
 * The seed policy's schedule for `jobCount` trials of `trialSeconds` each on `nodes` (config
 * order). Its rules, from seed-system.md: jobs are dealt round-robin over the nodes (job i to
 * node i mod n); above `maxJobsPerBatch` jobs they run in batches that are barriers, each taking
 * at most `maxJobsPerNodePerBatch` jobs per node and `maxJobsPerBatch` in all; before every batch
 * but the first, each rig's reset runs (one after another), then a 2 s pause, then the cooldown.
 * Inside a batch a node deals its jobs round-robin over GPU lanes 0..min(gpuCount,
 * maxConcurrent)-1, restarting at GPU 0 each batch; lane g starts g × stagger after the first;
 * a lane runs its jobs in sequence with one stagger between a job's end and the next one's start.
 *
 * Where seed-system.md leaves details open, this follows the seed's code
 * (`scripts_coordinator.py` v1.4.0), and says so:
 * - a batch is filled node by node in config order from each node's round-robin queue, so one
 *   node takes its cap before the next gets any (20 = 6 + 6 + 6 + 2 on four nodes), and a node
 *   whose queue outlasts the others runs alone in the last batches;
 * - at most `maxJobsPerBatch` jobs, and no batching at all (no per-node cap, no reset, no
 *   cooldown), when the sweep has at most `maxJobsPerBatch` jobs;
 * - the 2 s pause belongs to the reset: with `allocatorReset` off only the cooldown separates
 *   batches; with it on the pause comes even on a cluster without rigs;
 * - every job starts the instant its lane lets it: SSH logins, the output check and process
 *   start-up cost nothing here (they are not the policy), and a reset call costs
 *   `resetCallSeconds`.
 * A node with no GPU lane would get jobs it can never run: that is a RangeError here.
 */
export function seedPolicySweep(nodes: SeedNodeShape[], jobCount: number, options: SeedPolicyOptions): SeedPolicySweep {
  checkShape(nodes, jobCount, options.trialSeconds);
  const maxJobsPerBatch = options.maxJobsPerBatch ?? 20;
  const perNodeCap = options.maxJobsPerNodePerBatch ?? 6;
  const trialMs = toMs(options.trialSeconds);
  const betweenBatchesMs = gapBetweenBatchesMs(nodes, options);

  const batches: SeedPolicyBatch[] = [];
  let clockMs = 0;
  for (const jobsPerNode of formBatches(dealRoundRobin(nodes.length, jobCount), maxJobsPerBatch, perNodeCap)) {
    if (batches.length > 0) clockMs += betweenBatchesMs;
    const durationMs = Math.max(...jobsPerNode.map((jobs, i) => nodeExecutorMs(nodes[i], jobs, trialMs)));
    batches.push({ batch: batches.length + 1, jobsPerNode, start: toSeconds(clockMs), end: toSeconds(clockMs + durationMs) });
    clockMs += durationMs;
  }
  return { batches, makespan: toSeconds(clockMs) };
}

/**
 * The stagger bound: no dispatcher that keeps each node's starts `stagger_i` apart can start N
 * jobs faster than N / Σ(1/stagger_i), and the last one still has to run. A node without stagger
 * can start everything at once, so then the bound is one trial length.
 */
export function staggerBound(jobCount: number, staggers: number[], trialSeconds: number): number {
  if (staggers.length === 0) throw new RangeError('staggerBound: no node');
  if (staggers.some((s) => !Number.isFinite(s) || s < 0)) throw new RangeError(`staggerBound: staggers must be finite and ≥ 0, got ${staggers.join(', ')}`);
  if (jobCount <= 0) return 0;
  if (staggers.some((s) => s === 0)) return trialSeconds;
  return jobCount / staggers.reduce((rate, s) => rate + 1 / s, 0) + trialSeconds;
}

// Whole milliseconds, so 3 × 2.8 s is 8.4 s and not 8.399999999999999.
const toMs = (seconds: number): number => Math.round(seconds * 1000);
const toSeconds = (ms: number): number => ms / 1000;

function checkShape(nodes: SeedNodeShape[], jobCount: number, trialSeconds: number): void {
  if (nodes.length === 0) throw new RangeError('seedPolicySweep: no node');
  if (!Number.isInteger(jobCount) || jobCount < 0) throw new RangeError(`seedPolicySweep: job count must be an integer ≥ 0, got ${jobCount}`);
  if (!Number.isFinite(trialSeconds) || trialSeconds < 0) throw new RangeError(`seedPolicySweep: trial seconds must be finite and ≥ 0, got ${trialSeconds}`);
  const laneless = nodes.find((node) => lanesOf(node) < 1);
  if (laneless) throw new RangeError(`seedPolicySweep: node ${laneless.name} has no GPU lane, and the seed would still deal it jobs`);
}

const lanesOf = (node: SeedNodeShape): number => Math.min(node.gpuCount, node.maxConcurrent);

/** Job i goes to node i mod n: node j gets ⌊N/n⌋ jobs, one more when j < N mod n. */
function dealRoundRobin(nodeCount: number, jobCount: number): number[] {
  return Array.from({ length: nodeCount }, (_, j) => Math.floor(jobCount / nodeCount) + (j < jobCount % nodeCount ? 1 : 0));
}

/** Jobs per node per batch: node by node in config order, each up to its cap, until the batch is full. */
function formBatches(queues: number[], maxJobsPerBatch: number, perNodeCap: number): number[][] {
  const total = queues.reduce((a, b) => a + b, 0);
  if (total === 0) return [];
  if (total <= maxJobsPerBatch) return [queues];
  const left = [...queues];
  const batches: number[][] = [];
  while (left.some((jobs) => jobs > 0)) {
    let room = maxJobsPerBatch;
    const batch = left.map((jobs, j) => {
      const take = Math.min(jobs, perNodeCap, room);
      room -= take;
      left[j] -= take;
      return take;
    });
    batches.push(batch);
  }
  return batches;
}

/** How long a node's share of one batch keeps it busy: its slowest lane. */
function nodeExecutorMs(node: SeedNodeShape, jobs: number, trialMs: number): number {
  const lanes = Math.min(lanesOf(node), jobs);
  const staggerMs = toMs(node.staggerSeconds);
  let slowest = 0;
  for (let lane = 0; lane < lanes; lane++) {
    const laneJobs = Math.floor(jobs / lanes) + (lane < jobs % lanes ? 1 : 0);
    slowest = Math.max(slowest, lane * staggerMs + laneJobs * trialMs + (laneJobs - 1) * staggerMs);
  }
  return slowest;
}

/** Resets run one rig after another, then the pause, then the cooldown. */
function gapBetweenBatchesMs(nodes: SeedNodeShape[], options: SeedPolicyOptions): number {
  const cooldownMs = toMs(options.cooldownSeconds ?? 5);
  if (options.allocatorReset === false) return cooldownMs;
  const rigs = nodes.filter((node) => !node.isLocal).length;
  return rigs * toMs(options.resetCallSeconds ?? 0) + toMs(options.resetPauseSeconds ?? 2) + cooldownMs;
}
