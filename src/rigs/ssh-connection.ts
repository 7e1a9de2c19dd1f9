/**
 * Opening one authenticated SSH connection to a rig: host keys checked strictly against the
 * user's known_hosts, the logins OpenSSH would offer, and failures classified for the retry
 * policy. Sharing connections between commands is ssh-pool.ts's business.
 */
import { appendFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { Client, type AnyAuthMethod, type ClientErrorExtensions, type ConnectConfig } from 'ssh2';
import { knownHostsLine, preferredHostKeyAlgorithms, verifyHostKey } from './known-hosts';
import { loadSshAuthPlan } from './ssh-address';
import type { ResolvedSshTarget, SshAuthPlan } from './ssh-address';
import { describeSshFailure, displayPath, HostKeyError, SshAuthError, SshConnectError } from './ssh-errors';

/** How to open one connection; the pool fills it from its own options so every connection to a rig behaves alike. */
export interface SshConnectionOptions {
  /** The node as the user named it, for error messages (the dialled host may be an ssh config alias's HostName). */
  node: string;
  /** Home directory: where identity files are looked up, and how paths are shortened in error messages. */
  home: string;
  /** Read on every connect, so a key the user adds while the worker runs is trusted without a restart. */
  knownHostsFiles: string[];
  keepaliveIntervalMs: number;
  keepaliveCountMax: number;
  readyTimeoutMs: number;
  /**
   * Receives the client before it dials, so its owner can watch it from the first event and end
   * a handshake still in progress (as the pool does when it closes).
   */
  onClient?: (client: Client) => void;
}

/**
 * Connects and logs in to one rig and resolves with the ready client. Rejects with HostKeyError
 * when known_hosts does not vouch for the rig's key, with SshAuthError (naming every login
 * offered and skipped) when the rig refuses them all, and with SshConnectError otherwise, so the
 * retry policy can tell a setup mistake, which retrying cannot fix, from a flaky link. Keepalives
 * are on, so a dead link surfaces as a 'close' within keepaliveIntervalMs × keepaliveCountMax.
 */
export async function openSshConnection(target: ResolvedSshTarget, options: SshConnectionOptions): Promise<Client> {
  const [knownHosts, auth] = await Promise.all([readKnownHosts(options.knownHostsFiles), loadSshAuthPlan(target, options.home)]);
  return handshake(target, options, knownHosts, auth);
}

/** The dialled endpoint as `user@host:port`, spelled the same in every message about a connection. */
export function sshTargetLabel(target: ResolvedSshTarget): string {
  return `${target.username}@${target.host}:${target.port}`;
}

function handshake(target: ResolvedSshTarget, options: SshConnectionOptions, knownHosts: string, auth: SshAuthPlan): Promise<Client> {
  return new Promise((resolve, reject) => {
    const client = new Client();
    const { node } = options;
    const connectError = (reason: string, cause?: unknown) => new SshConnectError(node, `cannot connect to ${sshTargetLabel(target)}: ${reason}`, { cause });
    let settled = false;
    let hostKeyRefusal: HostKeyError | undefined;
    const fail = (error: Error): void => {
      if (settled) return;
      settled = true;
      client.end();
      reject(error);
    };
    client.on('error', (error: Error & ClientErrorExtensions) => {
      // Once logged in, errors are the owner's to watch; this listener only keeps them from being unhandled.
      if (settled) return;
      if (hostKeyRefusal) return fail(hostKeyRefusal);
      if (error.level === 'agent') return void auth.skipped.push(`ssh-agent (${error.message})`);
      if (error.level !== 'client-authentication') return fail(connectError(describeSshFailure(error), error));
      if (error.message.startsWith('All configured authentication methods failed')) {
        const { username, host, port } = target;
        fail(new SshAuthError({ node, username, host, port, tried: auth.tried, skipped: auth.skipped }));
      }
    });
    client.on('ready', () => {
      settled = true;
      resolve(client);
    });
    client.on('close', () => fail(connectError('connection closed during the SSH handshake')));
    options.onClient?.(client);
    try {
      client.connect(connectConfig(target, options, knownHosts, auth, (refusal) => (hostKeyRefusal = refusal)));
      // Commands are small request/response exchanges; Nagle's algorithm would hold each back.
      client.setNoDelay(true);
    } catch (error) {
      fail(connectError(describeSshFailure(error), error));
    }
  });
}

function connectConfig(
  target: ResolvedSshTarget,
  options: SshConnectionOptions,
  knownHosts: string,
  auth: SshAuthPlan,
  refuse: (error: HostKeyError) => void,
): ConnectConfig {
  const { host, port, username, hostKeyAlias } = target;
  const serverHostKey = preferredHostKeyAlgorithms(knownHosts, hostKeyAlias, port) as ServerHostKeyAlgorithms;
  let nextMethod = 0;
  return {
    host,
    port,
    username,
    keepaliveInterval: options.keepaliveIntervalMs,
    keepaliveCountMax: options.keepaliveCountMax,
    readyTimeout: options.readyTimeoutMs,
    ...(serverHostKey ? { algorithms: { serverHostKey } } : {}),
    hostVerifier: (key: Buffer): boolean => {
      const verdict = verifyHostKey(knownHosts, hostKeyAlias, port, key);
      if (verdict.status === 'match') return true;
      if (verdict.status === 'unknown' && target.acceptNewHostKeys && options.knownHostsFiles.length > 0) {
        // As OpenSSH's accept-new: trust on first use, and remember the key so a change is refused later.
        appendFileSync(options.knownHostsFiles[0], `${knownHostsLine(hostKeyAlias, port, key)}\n`, { mode: 0o600 });
        return true;
      }
      const problem = verdict.status === 'mismatch' ? 'changed' : verdict.status;
      const knownHostsFiles = options.knownHostsFiles.map((file) => displayPath(file, options.home));
      // ssh2 only learns "refused"; the detailed error replaces the generic one it then emits.
      refuse(new HostKeyError({ node: options.node, problem, host: hostKeyAlias, port, key, knownHostsFiles }));
      return false;
    },
    // `false` tells ssh2 there is nothing left to try; its typings leave that out.
    authHandler: (_left, _partial, next) => next(auth.methods[nextMethod++] ?? (false as unknown as AnyAuthMethod)),
  };
}

async function readKnownHosts(files: string[]): Promise<string> {
  const texts = await Promise.all(files.map((file) => readFile(file, 'utf8').catch(() => '')));
  return texts.join('\n');
}

type ServerHostKeyAlgorithms = NonNullable<ConnectConfig['algorithms']>['serverHostKey'];
