import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

/**
 * A self-signed certificate for localhost and 127.0.0.1, made once per machine by openssl (the key
 * and certificate appear together: the folder holding them is renamed into place in one step).
 */
export function selfSignedCert(): { key: string; cert: string; certFile: string } {
  const root = path.join(os.tmpdir(), 'idp-sync-fake-entra-tls');
  const dir = path.join(root, 'v1');
  if (!fs.existsSync(dir)) {
    fs.mkdirSync(root, { recursive: true });
    const tmp = fs.mkdtempSync(path.join(root, 'new-'));
    execFileSync(
      'openssl',
      [
        'req',
        '-x509',
        '-newkey',
        'rsa:2048',
        '-nodes',
        '-keyout',
        path.join(tmp, 'key.pem'),
        '-out',
        path.join(tmp, 'cert.pem'),
        '-days',
        '3650',
        '-subj',
        '/CN=localhost',
        '-addext',
        'subjectAltName=DNS:localhost,IP:127.0.0.1',
      ],
      { stdio: 'ignore' },
    );
    try {
      fs.renameSync(tmp, dir);
    } catch {
      fs.rmSync(tmp, { recursive: true, force: true }); // another process got there first
    }
  }
  const certFile = path.join(dir, 'cert.pem');
  return { key: fs.readFileSync(path.join(dir, 'key.pem'), 'utf8'), cert: fs.readFileSync(certFile, 'utf8'), certFile };
}
