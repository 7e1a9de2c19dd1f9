/** Channel-level helpers of the SSH pool: one exec channel, one SFTP download, bounded output. */
import type { Client, ClientChannel } from 'ssh2';
import { TailBuffer } from './tail-buffer';

/** An exec channel with its exit status recorded from the first moment. */
export interface ExecChannel {
  channel: ClientChannel;
  /** Filled in when the node reports the exit; read it once the channel has closed. */
  exit: { exitCode: number | null; signal: string | null };
}

/**
 * Opens an exec channel. The exit listener is attached inside ssh2's callback: a command that ends
 * at once sends its exit status in the same packet burst as the channel's confirmation, and ssh2
 * emits `exit` before any promise continuation could attach a listener (1 in 4 fast commands lost
 * their exit code that way under load).
 */
export function openExecChannel(client: Client, command: string): Promise<ExecChannel> {
  return new Promise((resolve, reject) => {
    try {
      client.exec(command, (error, channel) => {
        if (error) return reject(error);
        const exit: ExecChannel['exit'] = { exitCode: null, signal: null };
        channel.on('exit', (code: number | null, signal?: string) => Object.assign(exit, { exitCode: code ?? null, signal: signal ?? null }));
        resolve({ channel, exit });
      });
    } catch (error) {
      reject(error instanceof Error ? error : new Error(String(error)));
    }
  });
}

export function collect(stream: NodeJS.ReadableStream, maxBytes = 1024 * 1024): { tail: TailBuffer; ended: Promise<void> } {
  const tail = new TailBuffer(maxBytes);
  stream.on('data', (chunk: Buffer) => tail.push(chunk));
  const ended = new Promise<void>(
    (resolve) =>
      void stream
        .once('end', resolve)
        .once('close', resolve)
        .once('error', () => resolve()),
  );
  return { tail, ended };
}

/** Copies one file from the node over an SFTP channel of an open connection. */
export function sftpDownload(client: Client, remotePath: string, localPath: string): Promise<void> {
  return new Promise((resolve, reject) => {
    client.sftp((error, sftp) => {
      if (error) return reject(error);
      sftp.fastGet(remotePath, localPath, (copyError) => {
        sftp.end();
        if (copyError) reject(copyError);
        else resolve();
      });
    });
  });
}
