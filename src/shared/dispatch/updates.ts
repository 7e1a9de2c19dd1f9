/**
 * Which operators' messages a sweep takes now: new numbers (`set`), and a node or GPU excluded or
 * re-admitted. The workflow's update validators refuse a message with these problems before it
 * reaches the core — so a bad one changes nothing and its sender hears why — and the simulator
 * asks the same question before it feeds one in. Pure code.
 */
import { nodeSelectorProblems, settingsChangeProblems } from '../live-settings';
import type { SweepEvent } from './events';
import type { SweepState } from './state';

/** An operator's message that may be refused: it arrives as a Temporal update. */
export type UpdateEvent = Extract<SweepEvent, { type: 'settingsChanged' | 'exclude' | 'readmit' }>;

const STILL_PLANNING = 'the sweep is still planning; try again in a moment';

/** Why the sweep refuses `update` now; empty when it takes it. */
export function updateProblems(state: SweepState, update: UpdateEvent): string[] {
  // Until pre-flight is over there are no numbers in force to change, nor nodes in service.
  if (!state.settings) return [STILL_PLANNING];
  if (update.type === 'settingsChanged')
    return settingsChangeProblems(
      update.change,
      state.allNodes.map((node) => node.name),
    );
  return nodeSelectorProblems(update.selector, state.allNodes);
}
