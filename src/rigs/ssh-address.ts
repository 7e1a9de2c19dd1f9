/**
 * Turns a node entry into the exact host, port, user and keys to dial, honouring the user's
 * `~/.ssh/config` the way OpenSSH does, so a rig that `ssh rig-a` reaches is reached the same way.
 */
import { existsSync, readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { utils, type AnyAuthMethod } from 'ssh2';
import type { SSHConfig } from 'ssh-config' with { 'resolution-mode': 'import' };
import { displayPath } from './ssh-errors';

// ssh-config ships a CommonJS build but only ESM typings; a typed require keeps this file CommonJS.
// eslint-disable-next-line @typescript-eslint/no-require-imports -- see above: the package's typings are ESM-only
const sshConfig = require('ssh-config') as { parse(text: string): SSHConfig };

/** Where to reach a node, as the user's cluster file gives it; unset fields fall back to ssh config. */
export interface SshAddress {
  hostname: string;
  port?: number;
  username?: string;
  identityFile?: string;
}

/**
 * The local user's SSH world (home folder for `~/.ssh`, environment for `SSH_AUTH_SOCK`), passed
 * in rather than read from globals so tests and the worker can point it at a fixture folder.
 */
export interface SshEnvironment {
  home: string;
  env: NodeJS.ProcessEnv;
}

/** Everything needed to open and check one connection, after all defaults are applied. */
export interface ResolvedSshTarget {
  /** The real host to dial (HostName from ssh config, else the node's hostname). */
  host: string;
  port: number;
  username: string;
  /** Key files in the order to try them; they may not exist (the pool reports missing ones). */
  identityFiles: string[];
  /** The name to look up in known_hosts: the dialled host, as OpenSSH does. */
  hostKeyAlias: string;
  /** ssh-agent socket path, when the user runs an agent. */
  agent?: string;
  /**
   * `StrictHostKeyChecking` from ~/.ssh/config: `accept-new` (or `no`) trusts a rig seen for the
   * first time and records its key; a changed key is refused either way. Default: strict.
   */
  acceptNewHostKeys?: boolean;
}

const DEFAULT_IDENTITY_FILES = ['id_ed25519', 'id_ecdsa', 'id_rsa'];

/**
 * The SSH environment of the running process. The worker is the only caller; everything else
 * receives an `SshEnvironment` so it never reaches for `process.env` itself.
 */
export function defaultSshEnvironment(): SshEnvironment {
  return { home: os.homedir(), env: process.env };
}

/**
 * Applies OpenSSH precedence to one node: explicit fields of the node entry win (like `-p`, `-l`,
 * `-i` on the command line), then the first matching value in `~/.ssh/config` (Host patterns,
 * HostName, User, Port, IdentityFile), then OpenSSH's defaults (port 22, the local user name, the
 * existing `~/.ssh/id_ed25519`, `id_ecdsa`, `id_rsa`). An explicit identity file is tried before
 * the config's ones, as `ssh -i` does. `Match exec` blocks are not run, so resolving never
 * executes commands from the config.
 */
export function resolveSshTarget(address: SshAddress, sshEnv: SshEnvironment): ResolvedSshTarget {
  const config = readSshConfig(sshEnv.home);
  const computed = config.compute(address.username === undefined ? { Host: address.hostname } : { Host: address.hostname, User: address.username }, {
    ignoreCase: true,
    matchExec: false,
  });
  const host = expandTokens(firstValue(computed.hostname) ?? '%h', { h: address.hostname });
  const port = address.port ?? parsePort(firstValue(computed.port), address.hostname) ?? 22;
  const username = address.username ?? firstValue(computed.user) ?? localUsername(sshEnv);
  const tokens = { d: sshEnv.home, h: host, p: String(port), r: username, u: localUsername(sshEnv) };
  const configured = [address.identityFile, ...asList(computed.identityfile)]
    .filter((file): file is string => file !== undefined && file.toLowerCase() !== 'none')
    .map((file) => expandHome(expandTokens(file, tokens), sshEnv.home));
  const identityFiles =
    configured.length > 0
      ? [...new Set(configured)]
      : DEFAULT_IDENTITY_FILES.map((name) => path.join(sshEnv.home, '.ssh', name)).filter((file) => existsSync(file));
  const agent = sshEnv.env.SSH_AUTH_SOCK || undefined;
  const acceptNew = ['accept-new', 'no', 'off'].includes((firstValue(computed.stricthostkeychecking) ?? '').toLowerCase());
  return { host, port, username, identityFiles, hostKeyAlias: host, ...(agent ? { agent } : {}), ...(acceptNew ? { acceptNewHostKeys: true } : {}) };
}

/** The login attempts for one target, and how to describe them if the rig refuses them all. */
export interface SshAuthPlan {
  /** In order: the agent, then each usable identity file. */
  methods: AnyAuthMethod[];
  /** What `methods` offer, as the user knows them: "ssh-agent", "~/.ssh/id_ed25519 (ssh-ed25519)". */
  tried: string[];
  /** Identity files that could not be offered, with why (missing, encrypted, not a key). */
  skipped: string[];
}

/**
 * Loads the credentials OpenSSH would offer: the agent first, then every identity file that
 * exists and parses. Encrypted keys cannot be used (a worker has nobody to ask for a passphrase),
 * so they are skipped and named in the eventual SshAuthError rather than failing silently.
 */
export async function loadSshAuthPlan(target: ResolvedSshTarget, home: string): Promise<SshAuthPlan> {
  const plan: SshAuthPlan = { methods: [], tried: [], skipped: [] };
  if (target.agent) {
    plan.methods.push({ type: 'agent', username: target.username, agent: target.agent });
    plan.tried.push('ssh-agent');
  }
  for (const file of target.identityFiles) {
    const shown = displayPath(file, home);
    const data = await readFile(file).catch((error: NodeJS.ErrnoException) => error);
    if (data instanceof Error) {
      plan.skipped.push(`${shown} (${data.code === 'ENOENT' ? 'missing' : `unreadable: ${data.code ?? data.message}`})`);
      continue;
    }
    const key = utils.parseKey(data);
    if (key instanceof Error || !key.isPrivateKey()) {
      const why = key instanceof Error ? key.message : 'not a private key';
      plan.skipped.push(`${shown} (${/passphrase/i.test(why) ? 'encrypted; load it into ssh-agent, rigsweep cannot ask for a passphrase' : why})`);
      continue;
    }
    plan.methods.push({ type: 'publickey', username: target.username, key });
    plan.tried.push(`${shown} (${key.type})`);
  }
  return plan;
}

function readSshConfig(home: string): SSHConfig {
  try {
    return sshConfig.parse(readFileSync(path.join(home, '.ssh', 'config'), 'utf8'));
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return sshConfig.parse('');
    throw error;
  }
}

function firstValue(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}

function asList(value: string | string[] | undefined): string[] {
  if (value === undefined) return [];
  return Array.isArray(value) ? value : [value];
}

function parsePort(value: string | undefined, hostname: string): number | undefined {
  if (value === undefined) return undefined;
  const port = Number(value);
  if (!Number.isInteger(port) || port < 1 || port > 65535) {
    throw new Error(`${hostname}: ~/.ssh/config gives Port "${value}", which is not a TCP port number`);
  }
  return port;
}

/** OpenSSH's user name is the login name from passwd; $USER covers users with no passwd entry. */
function localUsername(sshEnv: SshEnvironment): string {
  try {
    return os.userInfo().username;
  } catch {
    const name = sshEnv.env.USER ?? sshEnv.env.LOGNAME;
    if (!name) throw new Error('cannot tell the local user name for SSH logins; set username on the node');
    return name;
  }
}

/** ssh_config's `%` tokens (`%d` home, `%h` host, `%p` port, `%r` remote user, `%u` local user, `%%`). */
function expandTokens(value: string, tokens: Record<string, string>): string {
  return value.replace(/%(.)/g, (whole, letter: string) => (letter === '%' ? '%' : (tokens[letter] ?? whole)));
}

function expandHome(file: string, home: string): string {
  if (file === '~') return home;
  return file.startsWith('~/') ? path.join(home, file.slice(2)) : file;
}
