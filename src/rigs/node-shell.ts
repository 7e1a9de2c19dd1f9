/**
 * One way to run shell commands on any node: over the pooled SSH connection for a rig, as a local
 * process for localhost. The job runner above it does not care which.
 */
import type { SweepNode } from '../shared/nodes';
import { LocalShell } from './local-shell';
import type { CommandResult, RemoteProcess, SshPool } from './ssh-pool';

export type { CommandResult, RemoteProcess };

export interface NodeShell {
  /** Starts a command; resolves once it runs (its channel or process is open). */
  exec(command: string): Promise<RemoteProcess>;
  /** Runs a command to completion with bounded output. */
  run(command: string, options?: { timeoutMs?: number; stdin?: string }): Promise<CommandResult>;
  /** Copies a file of the node (absolute, or relative to the login's home) to a path on this host. */
  download(remotePath: string, localPath: string): Promise<void>;
}

/** The shell for a node: local processes for localhost, the SSH pool for everyone else. */
export function shellFor(node: SweepNode, ssh: SshPool, local: LocalShell): NodeShell {
  if (node.isLocal) return local;
  const address = { hostname: node.hostname, port: node.port, username: node.username, identityFile: node.identityFile };
  return {
    exec: (command) => ssh.exec(address, command),
    run: (command, options) => ssh.run(address, command, options),
    download: (remotePath, localPath) => ssh.download(address, remotePath, localPath),
  };
}
