/**
 * The three ways talking to a rig can fail, kept apart on purpose: the activity layer maps
 * `SshConnectError` to a retryable failure and the other two to non-retryable ones, because no
 * retry fixes a wrong key or an untrusted host. Every message starts with "<node>:" so the user
 * knows which rig, and says what to do about it.
 */
import path from 'node:path';
import { hostKeyFingerprint, knownHostsLine } from './known-hosts';

/**
 * The rig could not be reached or the connection to it was lost (refused, timed out, no route,
 * keepalives unanswered, closed mid-handshake). Retryable: rigs reboot and links come back.
 * The underlying socket or ssh2 error is kept as `cause`.
 */
export class SshConnectError extends Error {
  override readonly name = 'SshConnectError';
  readonly node: string;

  constructor(node: string, reason: string, options?: ErrorOptions) {
    super(`${node}: ${reason}`, options);
    this.node = node;
  }
}

/** Why a host key was refused. */
export type HostKeyProblem = 'unknown' | 'changed' | 'revoked';

/** The refused key and where it was looked up: enough for the user to check it and fix known_hosts. */
export interface HostKeyErrorDetails {
  node: string;
  problem: HostKeyProblem;
  /** The name looked up in known_hosts, and the port. */
  host: string;
  port: number;
  /** The key the rig presented (SSH wire-format blob). */
  key: Buffer;
  /** The known_hosts files consulted, as the user would write them (`~/.ssh/known_hosts`). */
  knownHostsFiles: string[];
}

/**
 * The rig's host key is not trusted: not in known_hosts, different from the recorded one, or
 * revoked. Not retryable, since only the user can decide to trust a key; for an unknown key the
 * message gives the exact line to add.
 */
export class HostKeyError extends Error {
  override readonly name = 'HostKeyError';
  readonly node: string;
  readonly problem: HostKeyProblem;
  /** The line that would trust the presented key, e.g. "[10.0.0.2]:2222 ssh-ed25519 AAAA...". */
  readonly knownHostsLine: string;

  constructor(details: HostKeyErrorDetails) {
    const line = knownHostsLine(details.host, details.port, details.key);
    super(hostKeyMessage(details, line));
    this.node = details.node;
    this.problem = details.problem;
    this.knownHostsLine = line;
  }
}

function hostKeyMessage({ node, problem, key, knownHostsFiles }: HostKeyErrorDetails, knownHostsLine: string): string {
  const [hostName, keyType] = knownHostsLine.split(' ');
  const files = knownHostsFiles.join(', ');
  const presented = `${keyType} ${hostKeyFingerprint(key)}`;
  switch (problem) {
    case 'unknown':
      return (
        `${node}: host key of ${hostName} is unknown (not in ${files}); it presented ${presented}. ` +
        `If that is the rig's key, add this line to ${knownHostsFiles[0]}:\n${knownHostsLine}`
      );
    case 'changed':
      return (
        `${node}: host key of ${hostName} has CHANGED from the one recorded in ${files}; it now presents ${presented}. ` +
        `Someone may be intercepting the connection, or the rig was reinstalled. If the change is expected, ` +
        `remove the old entry with \`ssh-keygen -R '${hostName}'\` and add:\n${knownHostsLine}`
      );
    case 'revoked':
      return `${node}: host key of ${hostName} (${presented}) is marked @revoked in ${files}; refusing to connect.`;
  }
}

/** Who tried to log in where, and with what, for an authentication failure message. */
export interface SshAuthErrorDetails {
  node: string;
  username: string;
  host: string;
  port: number;
  /** Methods offered to the server, e.g. "ssh-agent", "~/.ssh/id_ed25519 (ssh-ed25519)". */
  tried: string[];
  /** Key files that could not be used, with the reason, e.g. "~/.ssh/id_rsa (encrypted ...)". */
  skipped: string[];
}

/**
 * The server refused every authentication method offered. Not retryable: the key has to be
 * authorised on the rig or the node's `username` / `identity_file` fixed first.
 */
export class SshAuthError extends Error {
  override readonly name = 'SshAuthError';
  readonly node: string;
  readonly username: string;

  constructor(details: SshAuthErrorDetails) {
    super(authMessage(details));
    this.node = details.node;
    this.username = details.username;
  }
}

function authMessage({ node, username, host, port, tried, skipped }: SshAuthErrorDetails): string {
  const target = `${username}@${host}${port === 22 ? '' : `:${port}`}`;
  const triedText = tried.length > 0 ? `tried ${tried.join(', ')}` : 'no ssh-agent (SSH_AUTH_SOCK unset) and no usable key file';
  const skippedText = skipped.length > 0 ? `; skipped ${skipped.join(', ')}` : '';
  return (
    `${node}: SSH login as ${target} was refused (${triedText}${skippedText}). ` +
    `Authorise one of these keys in ~${username}/.ssh/authorized_keys on the rig, or set username / identity_file for the node.`
  );
}

/**
 * A short human reason for a socket or ssh2 failure, so connect errors read
 * "connection refused" rather than "connect ECONNREFUSED 10.0.0.2:22".
 */
export function describeSshFailure(error: unknown): string {
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  const reasons: Record<string, string> = {
    ECONNREFUSED: 'connection refused (is sshd running on that port?)',
    ETIMEDOUT: 'connection timed out',
    EHOSTUNREACH: 'host unreachable',
    ENETUNREACH: 'network unreachable',
    ECONNRESET: 'connection reset by the rig',
    EPIPE: 'connection closed by the rig',
    ENOTFOUND: 'host name not found',
    EAI_AGAIN: 'host name lookup failed (DNS)',
  };
  if (code && reasons[code]) return reasons[code];
  const message = error instanceof Error ? error.message : String(error);
  if (message === 'Keepalive timeout') return 'no answer to keepalives (rig frozen or link cut)';
  if (message.startsWith('Timed out while waiting for handshake')) return 'no SSH handshake in time';
  return message;
}

/**
 * A path as the user would write it, with their home shown as `~`, so messages name
 * `~/.ssh/known_hosts` rather than an absolute path.
 */
export function displayPath(file: string, home: string): string {
  const relative = path.relative(home, file);
  return relative && !relative.startsWith('..') && !path.isAbsolute(relative) ? `~/${relative}` : file;
}
