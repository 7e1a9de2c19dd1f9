import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { loadSshAuthPlan, resolveSshTarget, type SshEnvironment } from '../../src/rigs/ssh-address';

let home: string;
let sshEnv: SshEnvironment;
const localUser = os.userInfo().username;

function writeSshFile(name: string, text: string): string {
  const file = path.join(home, '.ssh', name);
  writeFileSync(file, text);
  return file;
}

beforeEach(() => {
  home = mkdtempSync(path.join(os.tmpdir(), 'rigsweep-ssh-address-'));
  mkdirSync(path.join(home, '.ssh'));
  sshEnv = { home, env: {} };
});
afterEach(() => rmSync(home, { recursive: true, force: true }));

describe('resolveSshTarget', () => {
  it("uses OpenSSH's defaults when there is no ssh config", () => {
    expect(resolveSshTarget({ hostname: '10.0.0.2' }, sshEnv)).toEqual({
      host: '10.0.0.2',
      port: 22,
      username: localUser,
      identityFiles: [],
      hostKeyAlias: '10.0.0.2',
    });
  });

  it('picks the existing default keys in OpenSSH order', () => {
    writeSshFile('id_rsa', '');
    writeSshFile('id_ed25519', '');
    const target = resolveSshTarget({ hostname: 'rig-a' }, sshEnv);
    expect(target.identityFiles).toEqual([path.join(home, '.ssh/id_ed25519'), path.join(home, '.ssh/id_rsa')]);
  });

  it('applies a Host alias: HostName, User, Port and IdentityFile with ~ expanded', () => {
    writeSshFile('config', ['Host rig-a', '  HostName 10.0.0.2', '  User gpu', '  Port 2222', '  IdentityFile ~/.ssh/rig_key', ''].join('\n'));
    expect(resolveSshTarget({ hostname: 'rig-a' }, sshEnv)).toEqual({
      host: '10.0.0.2',
      port: 2222,
      username: 'gpu',
      identityFiles: [path.join(home, '.ssh/rig_key')],
      hostKeyAlias: '10.0.0.2',
    });
  });

  it('takes the first value per key across matching blocks, like OpenSSH', () => {
    writeSshFile(
      'config',
      [
        'Host rig-*',
        '  User gpu',
        '  IdentityFile ~/.ssh/rigs',
        'Host rig-a',
        '  User other',
        '  Port 2200',
        '  IdentityFile %d/.ssh/rig_a_%r',
        'Host *.lab !skip.lab',
        '  HostName %h.example.net',
        'Host *',
        '  Port 2201',
        '',
      ].join('\n'),
    );
    const a = resolveSshTarget({ hostname: 'rig-a' }, sshEnv);
    expect(a).toMatchObject({ host: 'rig-a', port: 2200, username: 'gpu' });
    expect(a.identityFiles).toEqual([path.join(home, '.ssh/rigs'), path.join(home, '.ssh/rig_a_gpu')]);
    expect(resolveSshTarget({ hostname: 'box.lab' }, sshEnv)).toMatchObject({ host: 'box.lab.example.net', port: 2201, username: localUser });
    expect(resolveSshTarget({ hostname: 'skip.lab' }, sshEnv)).toMatchObject({ host: 'skip.lab', port: 2201 });
  });

  it("lets the node's own fields win over ssh config, and tries its key first", () => {
    writeSshFile('config', 'Host rig-a\n  HostName 10.0.0.2\n  User gpu\n  Port 2222\n  IdentityFile ~/.ssh/rig_key\n');
    const target = resolveSshTarget({ hostname: 'rig-a', port: 22, username: 'alice', identityFile: '~/keys/a' }, sshEnv);
    expect(target).toMatchObject({ host: '10.0.0.2', port: 22, username: 'alice' });
    expect(target.identityFiles).toEqual([path.join(home, 'keys/a'), path.join(home, '.ssh/rig_key')]);
  });

  it('does not fall back to default keys when a key is configured', () => {
    writeSshFile('id_ed25519', '');
    expect(resolveSshTarget({ hostname: 'rig-a', identityFile: '/keys/rig' }, sshEnv).identityFiles).toEqual(['/keys/rig']);
  });

  it('takes the agent from SSH_AUTH_SOCK', () => {
    const target = resolveSshTarget({ hostname: 'rig-a' }, { home, env: { SSH_AUTH_SOCK: '/run/agent.sock' } });
    expect(target.agent).toBe('/run/agent.sock');
  });

  it('rejects a Port that is not a number, naming the host', () => {
    writeSshFile('config', 'Host rig-a\n  Port ssh\n');
    expect(() => resolveSshTarget({ hostname: 'rig-a' }, sshEnv)).toThrow(/rig-a: .*Port "ssh"/);
  });

  it('never runs Match exec commands from the config', () => {
    const marker = path.join(home, 'ran');
    writeSshFile('config', `Match exec "touch ${marker}"\n  User hacked\n`);
    expect(resolveSshTarget({ hostname: 'rig-a' }, sshEnv).username).toBe(localUser);
    expect(() => execFileSync('test', ['-e', marker])).toThrow();
  });
});

describe('loadSshAuthPlan', () => {
  it('offers the agent, then usable keys, and explains the keys it skips', async () => {
    const good = path.join(home, '.ssh/id_ed25519');
    const locked = path.join(home, '.ssh/id_ecdsa');
    execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', good]);
    execFileSync('ssh-keygen', ['-q', '-t', 'ecdsa', '-N', 'secret', '-f', locked]);
    const target = { ...resolveSshTarget({ hostname: 'rig-a' }, sshEnv), agent: '/run/agent.sock' };
    target.identityFiles.push(path.join(home, '.ssh/missing'), `${good}.pub`);
    const plan = await loadSshAuthPlan(target, home);
    expect(plan.methods.map((method) => method.type)).toEqual(['agent', 'publickey']);
    expect(plan.tried).toEqual(['ssh-agent', '~/.ssh/id_ed25519 (ssh-ed25519)']);
    expect(plan.skipped).toEqual([
      expect.stringMatching(/^~\/\.ssh\/id_ecdsa \(encrypted/),
      '~/.ssh/missing (missing)',
      '~/.ssh/id_ed25519.pub (not a private key)',
    ]);
  });
});
