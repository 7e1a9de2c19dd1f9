/**
 * How a wait for the results host reads: the reasons a file activity sends, and the `[WAIT]` lines
 * `watch` and `run` print once per change.
 */
import { describe, expect, it } from 'vitest';
import { hostTrouble } from '../../src/activities/failures';
import { waitLines } from '../../src/cli/follow';

const errno = (code: string, message: string) => Object.assign(new Error(message), { code });

describe('a results host in trouble', () => {
  it('names what its operator can fix, with the code and the message, and nothing else', () => {
    expect(hostTrouble(errno('ENOSPC', "ENOSPC: no space left on device, write '/r/results.jsonl'"))).toBe(
      "its disk is full (ENOSPC): ENOSPC: no space left on device, write '/r/results.jsonl'",
    );
    expect(hostTrouble(errno('EROFS', 'EROFS: read-only file system'))).toMatch(/^its file system is read-only \(EROFS\)/);
    expect(hostTrouble(errno('EACCES', 'EACCES: permission denied'))).toMatch(/^a folder is not writable \(EACCES\)/);
    // A missing file or a bug is not the host's trouble: the sweep does not blame the host for it.
    expect(hostTrouble(errno('ENOENT', 'no such file'))).toBeNull();
    expect(hostTrouble(new TypeError('x is undefined'))).toBeNull();
    expect(hostTrouble(undefined)).toBeNull();
  });

  it('prints one line when the wait begins or its reason changes, and one when it is over', () => {
    const lines: string[] = [];
    const write = (line: string) => lines.push(line);
    const waits = waitLines();
    const silent = 'waiting for the results host box-1: no answer for 15 s (is a worker of that name running?)';
    const full = 'waiting for the results host box-1: its disk is full (ENOSPC): write';
    for (const waiting of [null, undefined, silent, silent, full, full, null, null]) waits({ waiting }, write);
    expect(lines).toEqual([`[WAIT] ${silent}`, `[WAIT] ${full}`, '[WAIT] over: the results host box-1 answers again']);
  });
});
