/**
 * One step of the core: the state it updates, the time it was given, and the decisions it makes.
 * The small helpers every rule uses — start work, log a progress line, warn — live here so each
 * rule file reads as its rule.
 */
import type { SweepNode } from '../nodes';
import type { NewSweepEvent } from '../progress';
import type { Decision } from './decisions';
import { policyOf, type BatchPolicy } from './policies';
import type { NodeRuntime, PlannedState, ServingState, SweepState, Work } from './state';

/** Progress lines kept for followers; the query answer stays small however long the sweep runs. */
const LOG_CAPACITY = 500;

/** `S`: what the rule may rely on — a plan (`PlannedState`), the numbers in force (`ServingState`). */
export class Step<S extends SweepState = SweepState> {
  readonly decisions: Decision[] = [];

  constructor(
    readonly state: S,
    readonly now: number,
    /** A policy that replaces the plan's mode (the simulator tries modes not in the list). */
    private readonly override?: BatchPolicy,
  ) {}

  /** The batching policy this sweep runs under, by its plan (re-planned after pre-flight). */
  policy(this: Step<PlannedState>): BatchPolicy {
    return policyOf(this.state.plan, this.override);
  }

  /** Records work in flight under a fresh id and asks for it. */
  begin<D extends Decision & { work: number }>(work: Work, decision: (id: number) => D): D {
    // Stryker disable next-line UpdateOperator: equivalent — ids counted down (1, 0, -1, ...) are as fresh and distinct; nothing orders or signs them
    const id = this.state.nextWork++;
    this.state.work[id] = work;
    const made = decision(id);
    this.decisions.push(made);
    return made;
  }

  decide(decision: Decision): void {
    this.decisions.push(decision);
  }

  /** Ends work in flight; returns what it was (undefined for an id the core no longer knows). */
  finish(id: number): Work | undefined {
    const work = this.state.work[id];
    delete this.state.work[id];
    return work;
  }

  log(event: NewSweepEvent): void {
    const log = this.state.log;
    log.events.push({ ...event, seq: ++log.seq });
    if (log.events.length > LOG_CAPACITY) log.events.shift();
  }

  warn(text: string): void {
    this.state.warnings.push(text);
  }

  /** Asks the clock for a wake-up at `at`, unless an earlier one is already pending. */
  wakeAt(at: number, summary: string): void {
    // None pending (NaN) is none to keep: it compares false with any time.
    const pending = this.state.timerAtMs ?? NaN;
    if (pending > this.now && pending <= at) return;
    this.state.timerAtMs = at;
    this.decide({ type: 'wakeAt', at, summary });
  }

  node(name: string): SweepNode {
    const node = this.state.allNodes.find((candidate) => candidate.name === name);
    if (!node) throw new Error(`no node ${name} in this sweep`);
    return node;
  }

  runtime(name: string): NodeRuntime {
    return this.state.nodes[name];
  }
}

/** The sweep is planned: its step may use the plan. */
export function isPlanned(step: Step): step is Step<PlannedState> {
  return step.state.plan !== null;
}

/** The sweep is in service (pre-flight over): its step may use the plan and the numbers in force. */
export function inService(step: Step): step is Step<ServingState> {
  // Numbers are put in force only when pre-flight ends, and only a planned sweep has a pre-flight.
  return step.state.settings !== null;
}

/** Work in flight of one kind, with its id. */
export function workOf<K extends Work['kind']>(state: SweepState, kind: K): [number, Extract<Work, { kind: K }>][] {
  return Object.entries(state.work)
    .filter(([, work]) => work.kind === kind)
    .map(([id, work]) => [Number(id), work as Extract<Work, { kind: K }>]);
}
