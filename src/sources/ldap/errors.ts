import {
  ConfidentialityRequiredError,
  InsufficientAccessError,
  InvalidCredentialsError,
  NoSuchObjectError,
  OperationsError,
  ResultCodeError,
  StrongAuthRequiredError,
} from 'ldapts';
import { PullFailed } from '../source';

/** Errors that mean "this server cannot be reached": the next URL is tried. */
const UNREACHABLE = new Set([
  'ECONNREFUSED',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
  'ECONNRESET',
  'ETIMEDOUT',
]);

function codeOf(err: unknown): string | undefined {
  const e = err as NodeJS.ErrnoException & { cause?: NodeJS.ErrnoException };
  return e?.code ?? e?.cause?.code;
}

export function isUnreachable(err: unknown): boolean {
  const code = codeOf(err);
  return (code !== undefined && UNREACHABLE.has(code)) || /timed? ?out/i.test(String((err as Error)?.message));
}

/** Active Directory's reasons for a refused bind (`data 52e` in the message), in words. */
const AD_BIND_REASONS: Record<string, string> = {
  '525': 'the bind account does not exist',
  '52e': 'the password is wrong, or the bind account does not exist',
  '530': 'the bind account may not sign in at this time',
  '531': 'the bind account may not sign in from this workstation',
  '532': "the bind account's password has expired",
  '533': 'the bind account is disabled',
  '701': 'the bind account has expired',
  '773':
    "the bind account must change its password before it can bind (sign in once and change it, or clear 'must change password')",
  '775': 'the bind account is locked out',
};

/** What a failure of the directory means for the admin, in one sentence that says what to fix. */
export function explainLdapError(
  err: unknown,
  ctx: { url: string; bindName?: string | null; baseDn?: string },
): string {
  const where = new URL(ctx.url).host;
  const code = codeOf(err);
  const message = String((err as Error)?.message ?? err);
  if (err instanceof PullFailed) return err.message;
  if (err instanceof InvalidCredentialsError) {
    const reason = /data ([0-9a-f]{3})/i.exec(message)?.[1]?.toLowerCase();
    const why = (reason && AD_BIND_REASONS[reason]) ?? 'the password is wrong, or the bind account does not exist';
    return `${where} refused the bind as ${ctx.bindName ?? '(anonymous)'}: ${why}.`;
  }
  if (err instanceof StrongAuthRequiredError || err instanceof ConfidentialityRequiredError)
    return `${where} requires an encrypted connection: use an ldaps:// URL, or turn StartTLS on.`;
  if (err instanceof NoSuchObjectError)
    return `${where} has no entry ${ctx.baseDn ? `"${ctx.baseDn}"` : 'at that base DN'}: check the base DN (for example OU=Staff,DC=corp,DC=example).`;
  if (err instanceof InsufficientAccessError || (err instanceof OperationsError && /authenticat/i.test(message)))
    return `${where} did not let ${ctx.bindName ?? 'an anonymous bind'} read ${ctx.baseDn ?? 'the directory'}: bind with an account that may read users and groups.`;
  if (/certificate|self[- ]signed|unable to verify|CERT_|ERR_TLS/i.test(`${code ?? ''} ${message}`))
    return `${where}'s TLS certificate is not trusted (${message}): paste the CA certificate that signed it, or check that the URL's host name is the one in the certificate.`;
  if (code === 'EADDRNOTALLOWED') return `${where} was not called: ${message}.`;
  if (code === 'ECONNREFUSED')
    return `${where} refused the connection: is the directory server running, and is the port right (389 for ldap://, 636 for ldaps://)?`;
  if (code === 'ENOTFOUND' || code === 'EAI_AGAIN') return `${where} was not found: check the server's host name.`;
  if (code === 'ECONNRESET' || /connection closed/i.test(message))
    return `${where} closed the connection: if it expects TLS from the start, use ldaps://; if it expects StartTLS, turn it on.`;
  if (isUnreachable(err)) return `${where} did not answer in time: check the URL, the firewall and the timeouts.`;
  if (err instanceof ResultCodeError) return `${where} answered: ${message} (LDAP result ${err.code}).`;
  return `${where}: ${message}`;
}
