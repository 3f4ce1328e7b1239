// A throwaway self-signed certificate for localhost, made once per test
// process with the openssl command (Debian's openssl package).
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

export interface Credentials {
  key: Buffer;
  cert: Buffer;
}

let made: Promise<Credentials> | undefined;

async function make(): Promise<Credentials> {
  const dir = await mkdtemp(join(tmpdir(), 'tcp-keepalive-tls-'));
  try {
    await promisify(execFile)('openssl', [
      'req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1', '-subj', '/CN=localhost',
      '-addext', 'subjectAltName=DNS:localhost,IP:127.0.0.1',
      '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem'),
    ]);
    return { key: await readFile(join(dir, 'key.pem')), cert: await readFile(join(dir, 'cert.pem')) };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

export function tlsCredentials(): Promise<Credentials> {
  made ??= make();
  return made;
}
