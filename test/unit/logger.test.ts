import { Writable } from 'node:stream';
import { createLogger } from '../../src/logger';

/** Every source's secret, under the names a request body or a client's options carry it, is redacted at any depth logged. */
it("redacts each pull source's secret and the OAuth assertions, wherever a log line carries them", () => {
  const lines: string[] = [];
  const sink = new Writable({
    write(chunk, _enc, done) {
      lines.push(String(chunk));
      done();
    },
  });
  const log = createLogger('info', sink);
  const secrets = {
    clientSecret: 'S-entra',
    bindPassword: 'S-ldap',
    serviceAccountKey: 'S-google',
    oktaCredential: 'S-okta',
    keycloakClientSecret: 'S-keycloak',
    client_assertion: 'S-assertion',
    client_secret: 'S-form-secret',
    dpop: 'S-dpop-proof',
  };
  log.info(secrets, 'top level');
  log.info({ body: secrets }, 'one deep');
  log.info({ req: { body: secrets } }, 'two deep');
  const out = lines.join('');
  expect(lines).toHaveLength(3);
  for (const value of Object.values(secrets)) expect(out).not.toContain(value);
  expect(out.match(/\[redacted\]/g)).toHaveLength(24);
});
