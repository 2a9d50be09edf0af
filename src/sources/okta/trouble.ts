import { backoffDelay } from '../../backoff';
import { OutboundRefused, RedirectRefused } from '../outbound';
import type { OktaClientOptions } from './types';

/** Answers asked again after a pause: Okta's servers in trouble. */
export const SERVER_TROUBLE = new Set([500, 502, 503, 504]);

/** Whether a request that failed on the way may be asked again (not one the address guard or a redirect stopped). */
export const mayAskAgain = (err: unknown) => !(err instanceof OutboundRefused || err instanceof RedirectRefused);

/** Waits before a request is asked again (1 s, 2 s, 4 s … with jitter), telling `onTrouble`. */
export async function pauseForTrouble(o: OktaClientOptions, status: number | string, attempt: number): Promise<void> {
  const waitMs = backoffDelay(attempt, { backoffBaseMs: 1000, backoffMaxMs: 30_000 }, Math.random);
  o.onTrouble?.({ status, waitMs, attempt });
  await (o.sleep ?? ((ms: number) => new Promise((r) => setTimeout(r, ms))))(waitMs);
}
