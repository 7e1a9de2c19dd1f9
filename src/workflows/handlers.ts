/**
 * Everything a running sweep answers, registered together at its start so no message sent while
 * it plans is lost: the progress and results queries, the jobs' start signals, the results host's
 * trouble reports, and an operator's
 * pause, resume, new numbers and exclusions — validated by the core (`updateProblems`) before
 * they reach it, so a bad one is refused with a message and changes nothing.
 */
import { setHandler } from '@temporalio/workflow';
import {
  excludeUpdate,
  jobStartedSignal,
  type NodeSelector,
  pauseSignal,
  progressQuery,
  readmitUpdate,
  resultsHostTroubleSignal,
  resultsQuery,
  resumeSignal,
  setUpdate,
  type SettingsChange,
} from '../shared/names';
import type { SweepEvent } from '../shared/dispatch/events';
import type { SweepState } from '../shared/dispatch/state';
import { updateProblems, type UpdateEvent } from '../shared/dispatch/updates';
import { progressOf } from '../shared/dispatch/view';

interface Driven {
  readonly state: SweepState;
  feed(event: SweepEvent): void;
  /** What the sweep waits for besides its own rules (its results host), or null. */
  waiting(): string | null;
  resultsHostTroubled(reason: string): void;
}

export function registerHandlers(driver: Driven): void {
  const { state } = driver;
  setHandler(progressQuery, (afterSeq) => ({ ...progressOf(state, afterSeq ?? 0), waiting: driver.waiting() }));
  setHandler(resultsHostTroubleSignal, ({ reason }) => driver.resultsHostTroubled(reason));
  setHandler(resultsQuery, () => state.finalResults);
  setHandler(jobStartedSignal, ({ startKey, startedAtMs }) => driver.feed({ type: 'jobStarted', work: Number(startKey), startedAtMs }));
  setHandler(pauseSignal, () => driver.feed({ type: 'pause' }));
  setHandler(resumeSignal, () => driver.feed({ type: 'resume' }));
  const validator = (update: UpdateEvent) => reject(updateProblems(state, update));
  setHandler(
    setUpdate,
    (change) => {
      driver.feed({ type: 'settingsChanged', change });
      // Taken only once the sweep has numbers in force (the validator), now the new ones.
      return state.settings!;
    },
    { validator: (change: SettingsChange) => validator({ type: 'settingsChanged', change }) },
  );
  setHandler(
    excludeUpdate,
    (selector) => {
      driver.feed({ type: 'exclude', selector });
      return described('excluded: no new job starts there', selector);
    },
    { validator: (selector: NodeSelector) => validator({ type: 'exclude', selector }) },
  );
  setHandler(
    readmitUpdate,
    (selector) => {
      driver.feed({ type: 'readmit', selector });
      return described('re-admitted', selector);
    },
    { validator: (selector: NodeSelector) => validator({ type: 'readmit', selector }) },
  );
}

function described(what: string, { node, gpu }: NodeSelector): string {
  return gpu === undefined ? `${node} ${what}` : `${node} GPU ${gpu} ${what}`;
}

function reject(problems: string[]): void {
  if (problems.length) throw new Error(problems.join('; '));
}
