import { invalidField, invalidFields, jiraUnavailable } from '../../http/errors';
import { JiraError } from '../../jira/errors';
import type { JiraClientFactory } from '../../jira/factory';
import { pageThroughJsm } from '../../jira/paging';
import type { Rules } from '../../provisioning/rules';

/** How long a site's list of desks and organizations is trusted before it is read again. */
const TTL_MS = 60_000;
const PAGE = 100; // JSM's largest page

interface Known {
  desks: Set<string>;
  organizations: Set<string>;
  until: number;
}

/**
 * Which JSM service desks and organizations a site has, read page by page and kept a minute, so
 * that rules naming one that does not exist are refused when they are saved rather than parking
 * every grant of every later run on a 404. An id not in a kept list is looked up once more in a
 * fresh read before it is refused (a desk made a moment ago counts).
 */
export class JsmCatalog {
  private readonly sites = new Map<string, Known>();

  constructor(private readonly jira: JiraClientFactory) {}

  /**
   * Refuses rules that name desks or organizations the site does not have: `400 validation_failed`
   * with each wrong id's field named (`customers.groups.1.serviceDesks.0`). Rules that name none
   * cost no Jira call.
   */
  async check(clientKey: string, rules: Pick<Rules, 'customers'>): Promise<void> {
    const named = namedIds(rules);
    if (named.length === 0) return;
    let known = await this.known(clientKey, false);
    if (named.some((n) => !this.has(known, n))) known = await this.known(clientKey, true);
    const fields: Record<string, string> = {};
    for (const n of named)
      if (!this.has(known, n))
        fields[n.field] =
          n.kind === 'desk'
            ? `service desk ${n.id} does not exist on this site`
            : `JSM organization ${n.id} does not exist on this site`;
    if (Object.keys(fields).length > 0) throw invalidFields(fields);
  }

  private has(known: Known, n: NamedId): boolean {
    return (n.kind === 'desk' ? known.desks : known.organizations).has(n.id);
  }

  private async known(clientKey: string, fresh: boolean): Promise<Known> {
    const kept = this.sites.get(clientKey);
    if (kept && !fresh && kept.until > Date.now()) return kept;
    const client = this.jira.forTenant(clientKey);
    try {
      const desks = new Set<string>();
      for await (const d of pageThroughJsm((start) => client.listServiceDesks(start, PAGE))) desks.add(String(d.id));
      const organizations = new Set<string>();
      for await (const o of pageThroughJsm((start) => client.listJsmOrganizations(start, PAGE)))
        organizations.add(String(o.id));
      const known = { desks, organizations, until: Date.now() + TTL_MS };
      if (this.sites.size >= 10_000) this.sites.delete(this.sites.keys().next().value!);
      this.sites.set(clientKey, known);
      return known;
    } catch (err) {
      if (!(err instanceof JiraError)) throw err;
      if (err.status === 404)
        throw invalidField(
          'customers',
          'Jira Service Management is not on this site (Jira answered 404 for its service desks): rules cannot name service desks or organizations.',
          'Jira Service Management is not on this site',
        );
      throw jiraUnavailable(`Could not check the service desks and organizations with Jira: ${err.message}`);
    }
  }
}

interface NamedId {
  kind: 'desk' | 'organization';
  id: string;
  field: string;
}

/** Every desk and organization id the customer rules name, with the field that names it. */
function namedIds({ customers }: Pick<Rules, 'customers'>): NamedId[] {
  const out: NamedId[] = [];
  customers.serviceDesksForAll.forEach((id, i) =>
    out.push({ kind: 'desk', id, field: `customers.serviceDesksForAll.${i}` }),
  );
  customers.organizationsForAll.forEach((id, i) =>
    out.push({ kind: 'organization', id, field: `customers.organizationsForAll.${i}` }),
  );
  customers.groups.forEach((g, gi) => {
    g.serviceDesks.forEach((id, i) =>
      out.push({ kind: 'desk', id, field: `customers.groups.${gi}.serviceDesks.${i}` }),
    );
    g.organizations.forEach((id, i) =>
      out.push({ kind: 'organization', id, field: `customers.groups.${gi}.organizations.${i}` }),
    );
  });
  return out;
}
