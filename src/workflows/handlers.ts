/**
 * Everything a running sweep answers, registered together at its start so no message sent while
 * it plans is lost: the progress and results queries, the jobs' start signals, and an operator's
 * pause, resume, new numbers and exclusions — validated against the sweep's state before they
 * reach the core, so a bad one is refused with a message and changes nothing.
 */
import { setHandler } from '@temporalio/workflow';
import { applySettingsChange, nodeSelectorProblems, settingsChangeProblems } from '../shared/live-settings';
import {
  excludeUpdate,
  jobStartedSignal,
  type NodeSelector,
  pauseSignal,
  progressQuery,
  readmitUpdate,
  resultsQuery,
  resumeSignal,
  setUpdate,
} from '../shared/names';
import type { SweepEvent } from '../shared/dispatch/events';
import type { SweepState } from '../shared/dispatch/state';
import { progressOf } from '../shared/dispatch/view';

interface Driven {
  readonly state: SweepState;
  feed(event: SweepEvent): void;
}

const STILL_PLANNING = 'the sweep is still planning; try again in a moment';

export function registerHandlers(driver: Driven): void {
  const { state } = driver;
  setHandler(progressQuery, (afterSeq) => progressOf(state, afterSeq ?? 0));
  setHandler(resultsQuery, () => state.finalResults);
  setHandler(jobStartedSignal, ({ startKey, startedAtMs }) => driver.feed({ type: 'jobStarted', work: Number(startKey), startedAtMs }));
  setHandler(pauseSignal, () => driver.feed({ type: 'pause' }));
  setHandler(resumeSignal, () => driver.feed({ type: 'resume' }));
  setHandler(
    setUpdate,
    (change) => {
      driver.feed({ type: 'settingsChanged', change });
      return state.settings ?? applySettingsChange(state.settings!, change);
    },
    {
      validator: (change) =>
        reject(
          state.settings
            ? settingsChangeProblems(
                change,
                state.allNodes.map((node) => node.name),
              )
            : [STILL_PLANNING],
        ),
    },
  );
  setHandler(
    excludeUpdate,
    (selector) => {
      driver.feed({ type: 'exclude', selector });
      return described('excluded: no new job starts there', selector);
    },
    { validator: (selector) => reject(state.settings ? nodeSelectorProblems(selector, state.allNodes) : [STILL_PLANNING]) },
  );
  setHandler(
    readmitUpdate,
    (selector) => {
      driver.feed({ type: 'readmit', selector });
      return described('re-admitted', selector);
    },
    { validator: (selector) => reject(state.settings ? nodeSelectorProblems(selector, state.allNodes) : [STILL_PLANNING]) },
  );
}

function described(what: string, { node, gpu }: NodeSelector): string {
  return gpu === undefined ? `${node} ${what}` : `${node} GPU ${gpu} ${what}`;
}

function reject(problems: string[]): void {
  if (problems.length) throw new Error(problems.join('; '));
}
