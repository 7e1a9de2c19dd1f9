/**
 * The search attributes that let users filter sweeps in Temporal Web and `temporal workflow list`
 * (e.g. `RigsweepSweep = "scorer_jobs" AND RigsweepFailed > 0`). A server must know them before a
 * workflow sets them — an unknown one fails the workflow task on every retry — so the worker
 * registers any that are missing when it starts.
 */
import { defineSearchAttributeKey } from '@temporalio/common';

export const SWEEP_NAME_ATTRIBUTE = defineSearchAttributeKey('RigsweepSweep', 'KEYWORD');
export const BATCH_ATTRIBUTE = defineSearchAttributeKey('RigsweepBatch', 'INT');
export const DONE_ATTRIBUTE = defineSearchAttributeKey('RigsweepDone', 'INT');
export const FAILED_ATTRIBUTE = defineSearchAttributeKey('RigsweepFailed', 'INT');

export const RIGSWEEP_SEARCH_ATTRIBUTES = [SWEEP_NAME_ATTRIBUTE, BATCH_ATTRIBUTE, DONE_ATTRIBUTE, FAILED_ATTRIBUTE];
