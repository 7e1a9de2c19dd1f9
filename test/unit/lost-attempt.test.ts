/**
 * Reading what the retry's look at a lost attempt printed (the command itself runs for real in
 * resume-job.test.ts): anything it cannot read is nothing to take over, never a trial to adopt.
 */
import { describe, expect, it } from 'vitest';
import { parseLostAttempt } from '../../src/rigs/lost-attempt';

const RECORD = 'rigsweep-end 1\npgid 42\nexit 0\nstart_ns 1\nend_ns 2\nend\n';

describe('what a lost attempt left', () => {
  it('is a running trial, with its start when the node knows it', () => {
    expect(parseLostAttempt('NOW 100\nRUNNING 40\n', 42)).toEqual({ state: 'running', nodeNowNs: 100n, startedNs: 40n });
    expect(parseLostAttempt('NOW 100\nRUNNING -\n', 42)).toEqual({ state: 'running', nodeNowNs: 100n, startedNs: null });
  });

  it('is an ended trial only with a record of its own process group', () => {
    expect(parseLostAttempt(`NOW 100\nENDED\n${RECORD}`, 42)).toMatchObject({ state: 'ended', nodeNowNs: 100n, record: { pgid: 42, exitCode: 0 } });
    expect(parseLostAttempt(`NOW 100\nENDED\n${RECORD}`, 43)).toEqual({ state: 'gone', why: 'foreign record', killed: false });
    expect(parseLostAttempt(`NOW 100\nENDED\n${RECORD.replace('end\n', '')}`, 42)).toEqual({ state: 'gone', why: 'unreadable record', killed: false });
    expect(parseLostAttempt('NOW 100\nENDED\n', 42)).toEqual({ state: 'gone', why: 'nothing', killed: false });
  });

  it('is gone, killed or not, when its copy waited or outlived its lease', () => {
    expect(parseLostAttempt('NOW 100\nFENCED\nLEFTOVER\n', 42)).toEqual({ state: 'gone', why: 'fenced', killed: true });
    expect(parseLostAttempt('NOW 100\nWAITING\nLEFTOVER\n', 42)).toEqual({ state: 'gone', why: 'waiting', killed: true });
    expect(parseLostAttempt('NOW 100\nWAITING\n', 42)).toEqual({ state: 'gone', why: 'waiting', killed: false });
  });

  it('is nothing when the output is not what the command prints', () => {
    for (const garbage of ['', 'RUNNING 40\n', `ENDED\n${RECORD}`, 'NOW x\nRUNNING 40\n', 'NOW 100\nRUNNING soon\n'])
      expect(parseLostAttempt(garbage, 42), JSON.stringify(garbage)).toEqual({ state: 'gone', why: 'nothing', killed: false });
  });
});
