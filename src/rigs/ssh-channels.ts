/** Channel-level helpers of the SSH pool: one exec channel, one SFTP download, bounded output. */
import type { Client, ClientChannel } from 'ssh2';
import { TailBuffer } from './tail-buffer';

export function openExecChannel(client: Client, command: string): Promise<ClientChannel> {
  return new Promise((resolve, reject) => {
    try {
      client.exec(command, (error, channel) => (error ? reject(error) : resolve(channel)));
    } catch (error) {
      reject(error);
    }
  });
}

export function collect(stream: NodeJS.ReadableStream, maxBytes = 1024 * 1024): { tail: TailBuffer; ended: Promise<void> } {
  const tail = new TailBuffer(maxBytes);
  stream.on('data', (chunk: Buffer) => tail.push(chunk));
  const ended = new Promise<void>((resolve) => void stream.once('end', resolve).once('close', resolve).once('error', () => resolve()));
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
