/**
 * An operator's hand on a running sweep: pause after the current batch, resume, new numbers for
 * the batches still to come, and nodes or single GPUs taken out of (or back into) service. Every
 * change arrives as a signal or a validated update from any Temporal client; the dispatcher reads
 * the numbers here at each decision, so nothing else has to be told.
 */
import { condition, setHandler } from '@temporalio/workflow';
import { applySettingsChange, nodeSelectorProblems, settingsChangeProblems } from '../shared/live-settings';
import { excludeUpdate, type NodeSelector, pauseSignal, readmitUpdate, resumeSignal, setUpdate } from '../shared/names';
import type { SweepNode } from '../shared/nodes';
import type { LiveSettings } from '../shared/progress';
import type { SweepCarry } from '../shared/sweep-carry';
import type { SweepPlan } from '../shared/sweep-plan';

export class Steering {
  pauseRequested = false;
  settings: LiveSettings | null = null;
  /** True once a change means the batches still to come must be planned again. */
  replanNeeded = false;
  private nodes: SweepNode[] = [];
  /** Per node: the excluded GPUs; `all` when the whole node is out. */
  private readonly excluded = new Map<string, Set<number> | 'all'>();
  /** Nodes whose last probe failed, with why: left out until a probe passes. */
  private readonly leftOutByProbe = new Map<string, string>();
  private readonly probeFailures = new Map<string, number>();
  /** Nodes that failed `quarantine_after` probes in a row: out for the rest of the sweep. */
  readonly quarantined = new Map<string, string>();

  /** Registers the handlers at once, so a message sent while the sweep plans is not lost. */
  constructor(private readonly onChange: () => void) {
    setHandler(pauseSignal, () => void this.change(() => (this.pauseRequested = true)));
    setHandler(resumeSignal, () => void this.change(() => (this.pauseRequested = false)));
    setHandler(setUpdate, (change) => this.change(() => this.applySettings(change)), {
      validator: (change) => this.reject(this.settings ? settingsChangeProblems(change, this.nodes.map((node) => node.name)) : ['the sweep is still planning; try again in a moment']),
    });
    setHandler(excludeUpdate, (selector) => this.change(() => this.exclude(selector)), { validator: (selector) => this.validateSelector(selector) });
    setHandler(readmitUpdate, (selector) => this.change(() => this.readmit(selector)), { validator: (selector) => this.validateSelector(selector) });
  }

  /** Starts from the plan's numbers, once planning and pre-flight are done. */
  begin(plan: SweepPlan): void {
    this.nodes = plan.nodes;
    this.settings = {
      max_jobs_per_batch: plan.batching.max_jobs_per_batch,
      max_jobs_per_node_per_batch: plan.batching.max_jobs_per_node_per_batch,
      inter_batch_cooldown_seconds: plan.cooldownSeconds,
      stagger_delay: Object.fromEntries(plan.nodes.map((node) => [node.name, node.staggerSeconds])),
    };
  }

  snapshot(): SweepCarry['steering'] {
    const excluded: SweepCarry['steering']['excluded'] = {};
    for (const [node, out] of this.excluded) excluded[node] = out === 'all' ? 'all' : [...out];
    const probes = { leftOut: Object.fromEntries(this.leftOutByProbe), failures: Object.fromEntries(this.probeFailures), quarantined: Object.fromEntries(this.quarantined) };
    return { pauseRequested: this.pauseRequested, settings: this.settings, replanNeeded: this.replanNeeded, excluded, probes };
  }

  /** Takes over what the previous run of the sweep was told. */
  restore(plan: SweepPlan, carried: SweepCarry['steering']): void {
    this.nodes = plan.nodes;
    this.pauseRequested ||= carried.pauseRequested;
    this.settings = carried.settings;
    this.replanNeeded = carried.replanNeeded;
    for (const [node, out] of Object.entries(carried.excluded)) this.excluded.set(node, out === 'all' ? 'all' : new Set(out));
    for (const [node, why] of Object.entries(carried.probes?.leftOut ?? {})) this.leftOutByProbe.set(node, why);
    for (const [node, count] of Object.entries(carried.probes?.failures ?? {})) this.probeFailures.set(node, count);
    for (const [node, why] of Object.entries(carried.probes?.quarantined ?? {})) this.quarantined.set(node, why);
  }

  staggerSeconds(node: SweepNode): number {
    return this.settings?.stagger_delay[node.name] ?? node.staggerSeconds;
  }

  isGpuExcluded(node: SweepNode, gpu: number): boolean {
    if (this.leftOutByProbe.has(node.name) || this.quarantined.has(node.name)) return true;
    const out = this.excluded.get(node.name);
    return out === 'all' || (out?.has(gpu) ?? false);
  }

  /** Out of service: excluded as a whole, or every one of its GPUs is. */
  isNodeExcluded(node: SweepNode): boolean {
    return Array.from({ length: node.gpuCount }, (_, gpu) => gpu).every((gpu) => this.isGpuExcluded(node, gpu));
  }

  excludedGpus(node: SweepNode): number[] {
    return Array.from({ length: node.gpuCount }, (_, gpu) => gpu).filter((gpu) => this.isGpuExcluded(node, gpu));
  }

  /** An operator took the whole node out of service. */
  isExcludedByOperator(node: SweepNode): boolean {
    return this.excluded.get(node.name) === 'all';
  }

  /** Why the node takes no job for now when its probe failed or it is quarantined; else undefined. */
  probeVerdict(node: string): 'left out' | 'quarantined' | undefined {
    return this.quarantined.has(node) ? 'quarantined' : this.leftOutByProbe.has(node) ? 'left out' : undefined;
  }

  /** Records a node's probe before a batch and says what it means for the node. */
  probed(node: string, ok: boolean, message: string, quarantineAfter: number): 'healthy' | 'readmitted' | 'left out' | 'quarantined' {
    if (ok) {
      const wasOut = this.leftOutByProbe.delete(node);
      this.probeFailures.delete(node);
      if (wasOut) this.replanNeeded = true;
      return wasOut ? 'readmitted' : 'healthy';
    }
    const failures = (this.probeFailures.get(node) ?? 0) + 1;
    this.probeFailures.set(node, failures);
    this.replanNeeded = true;
    if (failures >= quarantineAfter) {
      this.leftOutByProbe.delete(node);
      this.quarantined.set(node, `failed ${failures} probes in a row; last: ${message}`);
      return 'quarantined';
    }
    this.leftOutByProbe.set(node, message);
    return 'left out';
  }

  /** A node lost mid-batch (its job ended in SSH_ERROR): left out until a probe passes. */
  lostContact(node: string, message: string): void {
    this.leftOutByProbe.set(node, message);
    this.replanNeeded = true;
  }

  /** Nodes that may take jobs now. */
  activeNodes(): SweepNode[] {
    return this.nodes.filter((node) => !this.isNodeExcluded(node));
  }

  /** Waits while a pause is asked for. */
  async untilResumed(): Promise<void> {
    await condition(() => !this.pauseRequested);
  }

  async untilSomeNodeActive(): Promise<void> {
    await condition(() => this.activeNodes().length > 0);
  }

  private change<T>(apply: () => T): T {
    const result = apply();
    this.onChange();
    return result;
  }

  private applySettings(change: Parameters<typeof applySettingsChange>[1]): LiveSettings {
    const before = this.settings!;
    this.settings = applySettingsChange(before, change);
    if (this.settings.max_jobs_per_batch !== before.max_jobs_per_batch || this.settings.max_jobs_per_node_per_batch !== before.max_jobs_per_node_per_batch) {
      this.replanNeeded = true;
    }
    return this.settings;
  }

  private exclude({ node, gpu }: NodeSelector): string {
    const current = this.excluded.get(node);
    if (gpu === undefined) this.excluded.set(node, 'all');
    else if (current !== 'all') this.excluded.set(node, new Set([...(current ?? []), gpu]));
    this.replanNeeded = true;
    return gpu === undefined ? `${node} excluded: no new job starts there` : `${node} GPU ${gpu} excluded: no new job starts there`;
  }

  private readmit({ node, gpu }: NodeSelector): string {
    const current = this.excluded.get(node);
    if (gpu === undefined) this.excluded.delete(node);
    else if (current === 'all') this.excluded.set(node, new Set(Array.from({ length: this.gpuCount(node) }, (_, g) => g).filter((g) => g !== gpu)));
    else current?.delete(gpu);
    this.replanNeeded = true;
    return gpu === undefined ? `${node} re-admitted` : `${node} GPU ${gpu} re-admitted`;
  }

  private gpuCount(name: string): number {
    return this.nodes.find((node) => node.name === name)?.gpuCount ?? 0;
  }

  private validateSelector(selector: NodeSelector): void {
    this.reject(this.settings ? nodeSelectorProblems(selector, this.nodes) : ['the sweep is still planning; try again in a moment']);
  }

  private reject(problems: string[]): void {
    if (problems.length) throw new Error(problems.join('; '));
  }
}
