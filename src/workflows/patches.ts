/**
 * Every patch id of `trialSweep`, in one registry: why it exists and when it may go. A change that
 * alters the commands a running sweep issues gets an entry here and is read through the set
 * `readPatches()` returns — once per run, at its start — never by calling `patched()` where the
 * change is (lint forbids it outside this file).
 *
 * 0.1.0 started from one baseline, the dispatcher core. Histories recorded by builds before it do
 * not replay on it, so sweeps running on an older build are finished or cancelled before a
 * worker of this build starts (README: Upgrading). While rigsweep is at 0.x, a release may collapse
 * the registry again the same way, and says so.
 */
import { patched } from '@temporalio/workflow';

export interface PatchEntry {
  /** What the patched code does differently, and for which sweeps. */
  why: string;
  /** When the old branch may go: typically, once no sweep started before the patch can still run. */
  removeWhen: string;
}

export const PATCHES: Readonly<Record<string, PatchEntry>> = {
  'results-host-watch': {
    why: 'a timer while file work waits on the results host, so a sweep shows that it waits and why (results-host-watch.ts)',
    removeWhen: 'no sweep started by a build without it can still run',
  },
};

/**
 * The patches this run has. Read once at the run's start, so a run keeps one behaviour from its
 * first task to its last; a run replayed from a history without a patch's marker does not have it.
 */
export function readPatches(): ReadonlySet<string> {
  return new Set(Object.keys(PATCHES).filter((id) => patched(id)));
}
