/**
 * One step of the core: the state it updates, the time it was given, and the decisions it makes.
 * The small helpers every rule uses — start work, log a progress line, warn — live here so each
 * rule file reads as its rule.
 */
import type { SweepNode } from '../nodes';
import type { NewSweepEvent } from '../progress';
import type { Decision } from './decisions';
import type { NodeRuntime, SweepState, Work } from './state';

/** Progress lines kept for followers; the query answer stays small however long the sweep runs. */
const LOG_CAPACITY = 500;

export class Step {
  readonly decisions: Decision[] = [];

  constructor(
    readonly state: SweepState,
    readonly now: number,
  ) {}

  /** Records work in flight under a fresh id and asks for it. */
  begin<D extends Decision & { work: number }>(work: Work, decision: (id: number) => D): D {
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
    const pending = this.state.timerAtMs;
    if (pending !== null && pending > this.now && pending <= at) return;
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

/** Work in flight of one kind, with its id. */
export function workOf<K extends Work['kind']>(state: SweepState, kind: K): [number, Extract<Work, { kind: K }>][] {
  return Object.entries(state.work)
    .filter(([, work]) => work.kind === kind)
    .map(([id, work]) => [Number(id), work as Extract<Work, { kind: K }>]);
}
