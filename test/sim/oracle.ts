/**
 * The reference model of a sweep's rules: what the docs promise, computed from the scenario the
 * test wrote (config, jobs, retries) and from every event fed to the core, with its time. It
 * states the limits in force at each moment — the stagger after every `set`, per-node
 * concurrency, batch caps, rolling cycles, which nodes and GPUs are in service, pause, attempts
 * and backoff, the failure threshold, pre-flight's verdict — and judges each decision against
 * them. It never says which job should start next, and it takes nothing from the dispatcher core
 * but its types (lint enforces it): a core that ignored an operator's `set` must disagree with it.
 *
 * Where the docs leave room (a setting changed while a batch began, an upkeep nothing shows on a
 * node without a reset), the model allows what either reading allows, so it never fails a correct
 * core; what it forbids, no reading allows.
 *
 * This file is the entry point; the model lives in oracle/, one file per concern:
 *   state.ts         what the oracle knows of the sweep (one object the rules share)
 *   nodes.ts         which nodes and GPUs are in service: exclude/readmit, probes, lost links, quarantine
 *   lanes.ts         what a node runs at once: GPUs, standbys, concurrency, stagger
 *   attempts.ts      each job's attempts: max_retries, retryable failures, backoff
 *   batches.ts       batches and their caps; upkeep.ts, what happens between them (resets, cooldown, cycles, probes)
 *   records.ts       the final records and max_fail_percentage
 *   preflight.ts     pre-flight's checks, warm-ups and verdict
 *   end.ts           cancel, stops, and what the sweep's end must show
 *   sweep-oracle.ts  SweepOracle: routes events and decisions to the rules above
 */
export { DISPATCH_LEAD_MS } from './oracle/lanes';
export { RuleBroken } from './oracle/rule';
export type { OracleInput } from './oracle/state';
export { SweepOracle } from './oracle/sweep-oracle';
