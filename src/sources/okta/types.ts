import type { OutboundHttp } from '../http';
import type { OktaRates } from './rates';

export interface OktaUser {
  id: string;
  status: string;
  transitioningToStatus?: string | null;
  created?: string;
  lastUpdated?: string;
  statusChanged?: string | null;
  type?: { id?: string };
  profile: Record<string, unknown> & {
    login?: string;
    email?: string;
    firstName?: string | null;
    lastName?: string | null;
    displayName?: string | null;
  };
  [other: string]: unknown;
}
export interface OktaGroup {
  id: string;
  type: string;
  profile: { name: string; description?: string | null; [other: string]: unknown };
  lastUpdated?: string;
  lastMembershipUpdated?: string;
  [other: string]: unknown;
}
export interface OktaAppUser {
  id: string;
  scope?: string;
  status?: string;
  _embedded?: { user?: OktaUser };
}
export interface OktaLogEvent {
  uuid: string;
  published: string;
  eventType: string;
  target?: Array<{ id: string; type: string; alternateId?: string; displayName?: string }> | null;
  outcome?: { result?: string } | null;
}

/** An answer from Okta that was not a success: its status, its error code (`E0000006`, `invalid_client`…), its summary. */
export class OktaError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    /** 'token' (the org authorization server) or 'api' (the Management API). */
    readonly at: 'token' | 'api',
    /** The scope a 403 `insufficient_scope` names. */
    readonly scope?: string,
  ) {
    super(message);
  }
}

/** A wait a read is told of: Okta's rate limit paced or refused a request, or the server had trouble. */
export interface OktaWait {
  reason: string;
  waitMs: number;
}

/** How a connection reaches its org: the app's HTTPS client, the org's rate limits, the service app's ids, and who is told of waits. */
export interface OktaClientOptions {
  clientId?: string;
  keyId?: string;
  http: OutboundHttp;
  rates: OktaRates;
  maxAttempts: number;
  onWait?: (w: OktaWait) => void;
  /** Told of each request asked again for server trouble or the network (logged). */
  onTrouble?: (t: { status: number | string; waitMs: number; attempt: number }) => void;
  sleep?: (ms: number) => Promise<void>;
}
