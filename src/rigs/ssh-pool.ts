/**
 * Shared SSH connections to the rigs. A sweep runs many short commands (probes, resets) and a few
 * long ones (trials) per rig; reusing one authenticated connection per rig makes each command one
 * channel round trip instead of a TCP + key exchange + login, and keeps rigs' sshd logs quiet.
 */
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import type { Client, ClientChannel } from 'ssh2';
import { defaultSshEnvironment, resolveSshTarget } from './ssh-address';
import type { SshAddress, SshEnvironment } from './ssh-address';
import { openSshConnection, sshTargetLabel } from './ssh-connection';
import { describeSshFailure, SshConnectError } from './ssh-errors';
import { collect, openExecChannel, sftpDownload } from './ssh-channels';

/** Pool tuning; the defaults match OpenSSH's server limits and notice a cut link in ~3 s. */
export interface SshPoolOptions {
  sshEnv?: SshEnvironment;
  /** Channels per connection before another connection is opened: 10, OpenSSH's MaxSessions default. */
  maxSessionsPerConnection?: number;
  keepaliveIntervalMs?: number;
  keepaliveCountMax?: number;
  readyTimeoutMs?: number;
  /** Default [~/.ssh/known_hosts]. */
  knownHostsFiles?: string[];
  /** How long an extra (not the first) connection may sit without channels before it closes: 5000. */
  idleConnectionMs?: number;
}

/** How a remote command ended: an exit code, or the signal (e.g. "SIGTERM") that killed it. */
export interface RemoteExit {
  exitCode: number | null;
  signal: string | null;
}

/** A command running on a rig, streamed. Consume both streams, or `done` cannot settle (as with child_process). */
export interface RemoteProcess {
  stdout: NodeJS.ReadableStream;
  stderr: NodeJS.ReadableStream;
  /** resolves when the channel closes; rejects with SshConnectError if the connection dies first */
  done: Promise<RemoteExit>;
  /**
   * closes the channel (does not kill a process started without a pty; callers kill by process group).
   * sshd holds a closed channel open until its process exits, so `done` settles only then.
   */
  close(): void;
}

/** A finished command with its tail-bounded output, flat like execa's result. */
export interface CommandResult extends RemoteExit {
  stdout: string;
  stderr: string;
  timedOut: boolean;
  durationMs: number;
}

interface Connection {
  client: Client;
  capacity: number;
  channels: number;
  /** Rejects the `done` of every channel still open when the connection dies. */
  lost: Set<(error: SshConnectError) => void>;
  closed: Promise<void>;
  idleTimer?: NodeJS.Timeout;
  lastError?: Error;
}

interface NodeConnections {
  connections: Connection[];
  connecting?: Promise<void>;
}

/**
 * Connection pool keyed by node address. One connection per rig carries up to
 * `maxSessionsPerConnection` channels; more concurrent commands open one more connection, and
 * extra connections close again when idle. Concurrent first uses share one connect attempt.
 * Host keys are checked strictly against known_hosts, and failures come out classified
 * (SshConnectError / HostKeyError / SshAuthError) for the retry policy.
 */
export class SshPool {
  private readonly sshEnv: SshEnvironment;
  private readonly settings: Required<Omit<SshPoolOptions, 'sshEnv'>>;
  private readonly nodes = new Map<string, NodeConnections>();
  private readonly clients = new Set<Client>();
  private closing = false;

  constructor(options: SshPoolOptions = {}) {
    this.sshEnv = options.sshEnv ?? defaultSshEnvironment();
    this.settings = {
      maxSessionsPerConnection: options.maxSessionsPerConnection ?? 10,
      keepaliveIntervalMs: options.keepaliveIntervalMs ?? 1000,
      keepaliveCountMax: options.keepaliveCountMax ?? 3,
      readyTimeoutMs: options.readyTimeoutMs ?? 10_000,
      knownHostsFiles: options.knownHostsFiles ?? [path.join(this.sshEnv.home, '.ssh', 'known_hosts')],
      idleConnectionMs: options.idleConnectionMs ?? 5000,
    };
  }

  /**
   * Starts `command` (a shell command line, run by the login shell) on the node; resolves once its
   * channel is open, so the caller knows the command was started. Stdin is closed at once, as
   * with `ssh -n`, so a command that reads stdin cannot hang a trial.
   */
  async exec(address: SshAddress, command: string): Promise<RemoteProcess> {
    const { channel, remote } = await this.open(address, command);
    channel.end();
    return remote;
  }

  /**
   * Runs a command to completion for callers that want its output, not a stream. Output is kept
   * up to `maxOutputBytes` per stream (1 MiB; beyond that the tail, where errors usually are).
   * On timeout the channel is closed and the result says `timedOut` at once; the remote process
   * may live on (and hold its channel slot until it exits), so callers that must stop it kill its
   * process group.
   */
  async run(address: SshAddress, command: string, options: { timeoutMs?: number; maxOutputBytes?: number; stdin?: string } = {}): Promise<CommandResult> {
    const started = performance.now();
    const { channel, remote } = await this.open(address, command);
    channel.end(options.stdin);
    const stdout = collect(remote.stdout, options.maxOutputBytes);
    const stderr = collect(remote.stderr, options.maxOutputBytes);
    let timer: NodeJS.Timeout | undefined;
    const expired = new Promise<undefined>((resolve) => {
      if (options.timeoutMs !== undefined) timer = setTimeout(resolve, options.timeoutMs, undefined);
    });
    const finished = remote.done.then(async (exit) => (await Promise.all([stdout.ended, stderr.ended]), exit));
    try {
      const exit = await Promise.race([finished, expired]);
      // sshd keeps a closed channel until its process exits, so a timed-out run returns without waiting for that.
      if (!exit) remote.close();
      const durationMs = performance.now() - started;
      const { exitCode, signal } = exit ?? { exitCode: null, signal: null };
      return { exitCode, signal, stdout: stdout.tail.toString(), stderr: stderr.tail.toString(), timedOut: !exit, durationMs };
    } finally {
      clearTimeout(timer);
    }
  }

  /**
   * Copies a file from the node to this host over SFTP on the pooled connection (it takes one
   * channel slot while it runs). `remotePath` is absolute or relative to the login's home.
   */
  async download(address: SshAddress, remotePath: string, localPath: string): Promise<void> {
    const node = this.nodeFor(address);
    const connection = await this.acquire(node, address);
    try {
      await sftpDownload(connection.client, remotePath, localPath);
    } finally {
      this.release(node, connection);
    }
  }

  /** Number of open TCP connections to the node, for tests and metrics. */
  connectionCount(address: SshAddress): number {
    return this.nodes.get(nodeKey(address))?.connections.length ?? 0;
  }

  /** Closes every connection (running channels reject with SshConnectError); the pool is unusable afterwards. */
  async close(): Promise<void> {
    this.closing = true;
    const connections = [...this.nodes.values()].flatMap((node) => node.connections);
    connections.forEach((connection) => clearTimeout(connection.idleTimer));
    this.clients.forEach((client) => client.end());
    const giveUp = new Promise<void>((resolve) => setTimeout(resolve, 2000).unref());
    await Promise.race([Promise.all(connections.map((connection) => connection.closed)), giveUp]);
    this.clients.forEach((client) => client.destroy());
  }

  private async open(address: SshAddress, command: string): Promise<{ channel: ClientChannel; remote: RemoteProcess }> {
    const node = this.nodeFor(address);
    for (let attempt = 1; ; attempt += 1) {
      const connection = await this.acquire(node, address);
      try {
        const { channel, exit } = await openExecChannel(connection.client, command);
        return { channel, remote: this.track(node, connection, channel, exit, address.hostname) };
      } catch (error) {
        this.release(node, connection);
        // The server's MaxSessions is below ours: learn its real limit and spill onto another connection.
        if (/Channel open failure/.test(String(error)) && connection.channels > 0 && attempt < 3) {
          connection.capacity = connection.channels;
          continue;
        }
        throw new SshConnectError(address.hostname, `cannot open an SSH channel: ${describeSshFailure(error)}`, { cause: error });
      }
    }
  }

  private nodeFor(address: SshAddress): NodeConnections {
    const key = nodeKey(address);
    let node = this.nodes.get(key);
    if (!node) this.nodes.set(key, (node = { connections: [] }));
    return node;
  }

  /** Reserves a channel slot, connecting first when every connection is full; one connect at a time per node. */
  private async acquire(node: NodeConnections, address: SshAddress): Promise<Connection> {
    for (;;) {
      if (this.closing) throw new SshConnectError(address.hostname, 'the SSH pool is closed');
      const free = node.connections.find((connection) => connection.channels < connection.capacity);
      if (free) {
        free.channels += 1;
        clearTimeout(free.idleTimer);
        return free;
      }
      node.connecting ??= this.connect(node, address).finally(() => (node.connecting = undefined));
      await node.connecting;
    }
  }

  private release(node: NodeConnections, connection: Connection): void {
    connection.channels -= 1;
    if (connection.channels > 0 || node.connections.indexOf(connection) < 1) return;
    connection.idleTimer = setTimeout(() => connection.client.end(), this.settings.idleConnectionMs);
    connection.idleTimer.unref();
  }

  private async connect(node: NodeConnections, address: SshAddress): Promise<void> {
    const target = resolveSshTarget(address, this.sshEnv);
    const { knownHostsFiles, keepaliveIntervalMs, keepaliveCountMax, readyTimeoutMs } = this.settings;
    const onClient = (client: Client): void => this.adopt(node, client, address.hostname, sshTargetLabel(target));
    await openSshConnection(target, {
      node: address.hostname,
      home: this.sshEnv.home,
      knownHostsFiles,
      keepaliveIntervalMs,
      keepaliveCountMax,
      readyTimeoutMs,
      onClient,
    });
  }

  /**
   * Tracks a client from before it dials, so close() can end a handshake still in progress, and
   * pools it once logged in; when it closes, it is dropped with the last error it reported.
   */
  private adopt(node: NodeConnections, client: Client, name: string, where: string): void {
    let markClosed = (): void => undefined;
    const closed = new Promise<void>((done) => (markClosed = done));
    const connection: Connection = { client, capacity: this.settings.maxSessionsPerConnection, channels: 0, lost: new Set(), closed };
    let ready = false;
    // Errors before login are the handshake's to report; only later ones explain a lost connection.
    client.on('error', (error: Error) => void (ready && (connection.lastError = error)));
    client.on('ready', () => {
      ready = true;
      // Logged in after close() began: hang up instead of pooling it, and acquire() reports the pool closed.
      if (this.closing) return void client.end();
      node.connections.push(connection);
    });
    client.on('close', () => {
      this.clients.delete(client);
      markClosed();
      this.drop(node, connection, name, where);
    });
    this.clients.add(client);
  }

  /** Forgets a dead connection and fails the channels still open on it, so callers never wait forever. */
  private drop(node: NodeConnections, connection: Connection, name: string, where: string): void {
    clearTimeout(connection.idleTimer);
    node.connections = node.connections.filter((other) => other !== connection);
    clearTimeout(node.connections[0]?.idleTimer);
    const reason = this.closing ? 'the SSH pool was closed' : describeSshFailure(connection.lastError ?? 'connection closed by the rig');
    const error = new SshConnectError(name, `lost the SSH connection to ${where}: ${reason}`, { cause: connection.lastError });
    connection.lost.forEach((reject) => reject(error));
    connection.lost.clear();
  }

  private track(node: NodeConnections, connection: Connection, channel: ClientChannel, exit: RemoteExit, name: string): RemoteProcess {
    const done = new Promise<RemoteExit>((resolve, reject) => {
      let settled = false;
      const settle = (finish: () => void): void => {
        if (settled) return;
        settled = true;
        connection.lost.delete(onLost);
        this.release(node, connection);
        finish();
      };
      const onLost = (error: SshConnectError): void => settle(() => reject(error));
      const onError = (error: Error): void => onLost(new SshConnectError(name, `SSH channel failed: ${error.message}`, { cause: error }));
      connection.lost.add(onLost);
      channel.on('close', () => settle(() => resolve({ ...exit })));
      channel.on('error', onError);
      channel.stderr.on('error', onError);
    });
    // A caller that stopped listening must not turn a later connection loss into an unhandled rejection.
    done.catch(() => undefined);
    const close = (): void => {
      if (channel.readableFlowing === null) channel.resume();
      if (channel.stderr.readableFlowing === null) channel.stderr.resume();
      channel.close();
    };
    return { stdout: channel, stderr: channel.stderr, done, close };
  }
}

function nodeKey(address: SshAddress): string {
  return JSON.stringify([address.hostname, address.port, address.username, address.identityFile]);
}
