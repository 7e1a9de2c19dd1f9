/**
 * Host key checking against OpenSSH known_hosts text, so rigsweep trusts exactly the rigs the
 * user's own `ssh` already trusts and refuses the rest the way `StrictHostKeyChecking yes` does.
 * Pure functions over text and key blobs; reading the files is the caller's business.
 */
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';

/** What known_hosts says about a host's key; only `match` lets a connection go on. */
export type HostKeyVerdict = { status: 'match' } | { status: 'unknown' } | { status: 'mismatch' } | { status: 'revoked' };

interface KnownHostsEntry {
  marker: 'revoked' | 'cert-authority' | undefined;
  hostPatterns: string;
  key: Buffer;
}

/**
 * Checks a host key the way OpenSSH does: a `@revoked` key for the host refuses it, a listed
 * key accepts it, a different key of the same type means the key changed, and anything else is
 * unknown. `key` is the raw SSH wire-format blob (what ssh2's `hostVerifier` receives); its type
 * is read from the blob, so a line's type field cannot disagree with it.
 */
export function verifyHostKey(knownHostsText: string, host: string, port: number, key: Buffer): HostKeyVerdict {
  const name = lookupName(host, port);
  const type = keyType(key);
  let matched = false;
  let sameTypeDiffers = false;
  for (const entry of entriesFor(knownHostsText, name)) {
    if (entry.marker === 'revoked') {
      if (entry.key.equals(key)) return { status: 'revoked' };
    } else if (entry.key.equals(key)) {
      matched = true;
    } else if (keyType(entry.key) === type) {
      sameTypeDiffers = true;
    }
  }
  if (matched) return { status: 'match' };
  return { status: sameTypeDiffers ? 'mismatch' : 'unknown' };
}

/**
 * The known_hosts line a user would add to trust this key, in the form OpenSSH itself writes
 * (`host` for port 22, `[host]:port` otherwise), so an "unknown host" error can quote it verbatim.
 */
export function knownHostsLine(host: string, port: number, key: Buffer): string {
  return `${lookupName(host, port)} ${keyType(key)} ${key.toString('base64')}`;
}

/**
 * The key's SHA256 fingerprint as `ssh-keygen -l` and `ssh` print it, so a user can compare the
 * key in an error message with what the rig's admin sees.
 */
export function hostKeyFingerprint(key: Buffer): string {
  return `SHA256:${createHash('sha256').update(key).digest('base64').replace(/=+$/, '')}`;
}

const RSA_ALGORITHMS = ['rsa-sha2-512', 'rsa-sha2-256', 'ssh-rsa'];
/** ssh2's own default host key order (Node 20 has ed25519). */
const DEFAULT_HOST_KEY_ALGORITHMS = ['ssh-ed25519', 'ecdsa-sha2-nistp256', 'ecdsa-sha2-nistp384', 'ecdsa-sha2-nistp521', ...RSA_ALGORITHMS];

/**
 * Host key algorithms to offer, with the types known_hosts already holds for this host first.
 * OpenSSH does the same; without it a rig recorded only with (say) its ECDSA key would present
 * its ed25519 key to ssh2 and look "unknown". Returns undefined when nothing is recorded, so the
 * library defaults apply.
 */
export function preferredHostKeyAlgorithms(knownHostsText: string, host: string, port: number): string[] | undefined {
  const known: string[] = [];
  for (const entry of entriesFor(knownHostsText, lookupName(host, port))) {
    if (entry.marker) continue;
    const type = keyType(entry.key);
    const algorithms = type === 'ssh-rsa' ? RSA_ALGORITHMS : [type];
    for (const algorithm of algorithms) {
      if (DEFAULT_HOST_KEY_ALGORITHMS.includes(algorithm) && !known.includes(algorithm)) known.push(algorithm);
    }
  }
  if (known.length === 0) return undefined;
  return [...known, ...DEFAULT_HOST_KEY_ALGORITHMS.filter((algorithm) => !known.includes(algorithm))];
}

/** The name OpenSSH looks up: bare host on port 22, `[host]:port` elsewhere; hosts are lower-cased. */
function lookupName(host: string, port: number): string {
  const lower = host.toLowerCase();
  return port === 22 ? lower : `[${lower}]:${port}`;
}

function* entriesFor(knownHostsText: string, name: string): Generator<KnownHostsEntry> {
  for (const line of knownHostsText.split(/\r?\n/)) {
    const entry = parseLine(line);
    if (entry && entry.marker !== 'cert-authority' && hostMatches(entry.hostPatterns, name)) yield entry;
  }
}

function parseLine(line: string): KnownHostsEntry | undefined {
  const fields = line.trim().split(/\s+/);
  if (fields[0] === '' || fields[0].startsWith('#')) return undefined;
  let marker: KnownHostsEntry['marker'];
  if (fields[0].startsWith('@')) {
    const name = fields.shift();
    if (name !== '@revoked' && name !== '@cert-authority') return undefined;
    marker = name === '@revoked' ? 'revoked' : 'cert-authority';
  }
  const [hostPatterns, , base64] = fields;
  if (!hostPatterns || !base64) return undefined;
  const key = Buffer.from(base64, 'base64');
  if (keyType(key) === '') return undefined;
  return { marker, hostPatterns, key };
}

/** OpenSSH's pattern-list rule: any matching `!pattern` vetoes the line, else one match suffices. */
function hostMatches(hostPatterns: string, name: string): boolean {
  if (hostPatterns.startsWith('|1|')) return hashedMatches(hostPatterns, name);
  let matched = false;
  for (const pattern of hostPatterns.toLowerCase().split(',')) {
    const negated = pattern.startsWith('!');
    if (!globMatches(negated ? pattern.slice(1) : pattern, name)) continue;
    if (negated) return false;
    matched = true;
  }
  return matched;
}

/** `|1|salt|hash` is HMAC-SHA1 of the lookup name keyed by the salt (HashKnownHosts yes). */
function hashedMatches(hashed: string, name: string): boolean {
  const [, , salt, hash] = hashed.split('|');
  if (!salt || !hash) return false;
  const expected = Buffer.from(hash, 'base64');
  const actual = createHmac('sha1', Buffer.from(salt, 'base64')).update(name).digest();
  return expected.length === actual.length && timingSafeEqual(expected, actual);
}

function globMatches(pattern: string, name: string): boolean {
  const source = pattern
    .replace(/[.+^${}()|[\]\\]/g, '\\$&')
    .replace(/\*/g, '.*')
    .replace(/\?/g, '.');
  return new RegExp(`^${source}$`).test(name);
}

/** The key type named inside an SSH public key blob (a length-prefixed string), '' if malformed. */
function keyType(blob: Buffer): string {
  if (blob.length < 4) return '';
  const length = blob.readUInt32BE(0);
  if (length === 0 || length > 64 || blob.length < 4 + length) return '';
  return blob.subarray(4, 4 + length).toString('latin1');
}
