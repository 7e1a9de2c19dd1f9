import { execFileSync } from 'node:child_process';
import { createHmac, randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { hostKeyFingerprint, knownHostsLine, preferredHostKeyAlgorithms, verifyHostKey } from '../../src/rigs/known-hosts';

const dir = mkdtempSync(path.join(os.tmpdir(), 'rigsweep-known-hosts-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** A fresh public key from ssh-keygen: its known_hosts form ("type base64") and wire blob. */
function makeKey(type: 'ed25519' | 'ecdsa' | 'rsa', name: string): { text: string; blob: Buffer; file: string } {
  const file = path.join(dir, name);
  execFileSync('ssh-keygen', ['-q', '-t', type, '-N', '', '-C', '', '-f', file]);
  const text = readFileSync(`${file}.pub`, 'utf8').trim().split(' ').slice(0, 2).join(' ');
  return { text, blob: Buffer.from(text.split(' ')[1], 'base64'), file };
}

const rig = makeKey('ed25519', 'rig');
const other = makeKey('ed25519', 'other');
const ecdsa = makeKey('ecdsa', 'ecdsa');
const rsa = makeKey('rsa', 'rsa');

describe('verifyHostKey', () => {
  it('matches a plain host entry among comments, blank lines and other hosts', () => {
    const text = `# my rigs\n\nrig-b ${other.text}\n   rig-a ${rig.text} comment here\n`;
    expect(verifyHostKey(text, 'rig-a', 22, rig.blob)).toEqual({ status: 'match' });
    expect(verifyHostKey(text, 'RIG-A', 22, rig.blob)).toEqual({ status: 'match' });
    expect(verifyHostKey(text, 'rig-c', 22, rig.blob)).toEqual({ status: 'unknown' });
  });

  it('matches any name of a comma list', () => {
    const text = `rig-a,10.0.0.2 ${rig.text}\n`;
    expect(verifyHostKey(text, '10.0.0.2', 22, rig.blob).status).toBe('match');
    expect(verifyHostKey(text, '10.0.0.3', 22, rig.blob).status).toBe('unknown');
  });

  it('uses [host]:port for ports other than 22, and the bare host only for 22', () => {
    const text = `[10.0.0.2]:2222 ${rig.text}\n10.0.0.3 ${rig.text}\n`;
    expect(verifyHostKey(text, '10.0.0.2', 2222, rig.blob).status).toBe('match');
    expect(verifyHostKey(text, '10.0.0.2', 22, rig.blob).status).toBe('unknown');
    expect(verifyHostKey(text, '10.0.0.3', 2222, rig.blob).status).toBe('unknown');
  });

  it('matches entries hashed by ssh-keygen -H (HashKnownHosts)', () => {
    const file = path.join(dir, 'hashed_known_hosts');
    writeFileSync(file, `[127.0.0.1]:2222 ${rig.text}\nrig-a ${ecdsa.text}\n`);
    execFileSync('ssh-keygen', ['-H', '-f', file], { stdio: 'ignore' });
    const text = readFileSync(file, 'utf8');
    expect(text).not.toContain('127.0.0.1');
    expect(text.startsWith('|1|')).toBe(true);
    expect(verifyHostKey(text, '127.0.0.1', 2222, rig.blob).status).toBe('match');
    expect(verifyHostKey(text, 'rig-a', 22, ecdsa.blob).status).toBe('match');
    expect(verifyHostKey(text, '127.0.0.1', 22, rig.blob).status).toBe('unknown');
  });

  it('computes hashes the way ssh-keygen -F finds them', () => {
    const salt = randomBytes(20);
    const hash = createHmac('sha1', salt).update('[10.0.0.9]:2200').digest();
    const line = `|1|${salt.toString('base64')}|${hash.toString('base64')} ${rig.text}\n`;
    const file = path.join(dir, 'own_hash');
    writeFileSync(file, line);
    expect(execFileSync('ssh-keygen', ['-F', '[10.0.0.9]:2200', '-f', file], { encoding: 'utf8' })).toContain(line.trim());
    expect(verifyHostKey(line, '10.0.0.9', 2200, rig.blob).status).toBe('match');
  });

  it('honours * and ? wildcards, and a matching !pattern vetoes the line', () => {
    const text = `*.lab,!bad.lab ${rig.text}\n10.0.0.? ${other.text}\n[10.1.*]:* ${ecdsa.text}\n`;
    expect(verifyHostKey(text, 'rig-a.lab', 22, rig.blob).status).toBe('match');
    expect(verifyHostKey(text, 'bad.lab', 22, rig.blob).status).toBe('unknown');
    expect(verifyHostKey(text, '10.0.0.7', 22, other.blob).status).toBe('match');
    expect(verifyHostKey(text, '10.0.0.17', 22, other.blob).status).toBe('unknown');
    expect(verifyHostKey(text, '10.1.2.3', 2222, ecdsa.blob).status).toBe('match');
  });

  it('reports a different key of the same type as a mismatch, another type as unknown', () => {
    const text = `rig-a ${other.text}\n`;
    expect(verifyHostKey(text, 'rig-a', 22, rig.blob).status).toBe('mismatch');
    expect(verifyHostKey(text, 'rig-a', 22, ecdsa.blob).status).toBe('unknown');
  });

  it('accepts the key when one of several recorded keys of that type matches', () => {
    const text = `rig-a ${other.text}\nrig-a ${rig.text}\n`;
    expect(verifyHostKey(text, 'rig-a', 22, rig.blob).status).toBe('match');
  });

  it('refuses a @revoked key even when it is also listed, and ignores @cert-authority lines', () => {
    const text = `rig-a ${rig.text}\n@revoked * ${rig.text}\n@cert-authority *.lab ${other.text}\n`;
    expect(verifyHostKey(text, 'rig-a', 22, rig.blob).status).toBe('revoked');
    expect(verifyHostKey(text, 'rig-b.lab', 22, other.blob).status).toBe('unknown');
  });

  it('skips malformed lines', () => {
    const text = `rig-a\nrig-a ssh-ed25519 !!!\n@weird rig-a ${rig.text}\nrig-a ${rig.text}\n`;
    expect(verifyHostKey(text, 'rig-a', 22, rig.blob).status).toBe('match');
  });
});

describe('knownHostsLine', () => {
  it('writes the line a user adds, which ssh-keygen then finds for that host and port', () => {
    const line = knownHostsLine('10.0.0.2', 2222, rig.blob);
    expect(line).toBe(`[10.0.0.2]:2222 ${rig.text}`);
    expect(knownHostsLine('rig-a', 22, rsa.blob)).toBe(`rig-a ${rsa.text}`);
    const file = path.join(dir, 'added');
    writeFileSync(file, `${line}\n`);
    expect(execFileSync('ssh-keygen', ['-F', '[10.0.0.2]:2222', '-f', file], { encoding: 'utf8' })).toContain(line);
    expect(verifyHostKey(line, '10.0.0.2', 2222, rig.blob).status).toBe('match');
  });
});

describe('hostKeyFingerprint', () => {
  it('prints the SHA256 fingerprint ssh-keygen -l shows', () => {
    const shown = execFileSync('ssh-keygen', ['-l', '-f', `${rig.file}.pub`], { encoding: 'utf8' });
    expect(shown).toContain(hostKeyFingerprint(rig.blob));
  });
});

describe('preferredHostKeyAlgorithms', () => {
  it('puts the key types recorded for the host first, like OpenSSH', () => {
    const text = `rig-a ${ecdsa.text}\nrig-b ${rsa.text}\n`;
    expect(preferredHostKeyAlgorithms(text, 'rig-a', 22)?.slice(0, 2)).toEqual(['ecdsa-sha2-nistp256', 'ssh-ed25519']);
    expect(preferredHostKeyAlgorithms(text, 'rig-b', 22)?.slice(0, 3)).toEqual(['rsa-sha2-512', 'rsa-sha2-256', 'ssh-rsa']);
    expect(preferredHostKeyAlgorithms(text, 'rig-c', 22)).toBeUndefined();
  });
});
