import { JiraCalls } from './calls';

/** The organization API key's calls (Atlassian's admin API: managed accounts and organizations). */
export class OrgAdminCalls extends JiraCalls {
  // --- managed accounts: organization API key -----------------------------------------------

  /** Deactivates a managed Atlassian account. */
  async disableAccount(accountId: string, message?: string): Promise<void> {
    await this.call('org', {
      method: 'POST',
      path: `/users/${encodeURIComponent(accountId)}/manage/lifecycle/disable`,
      template: '/users/{accountId}/manage/lifecycle/disable',
      body: message ? { message } : {},
    });
  }

  /** Reactivates a managed Atlassian account. */
  async enableAccount(accountId: string): Promise<void> {
    await this.call('org', {
      method: 'POST',
      path: `/users/${encodeURIComponent(accountId)}/manage/lifecycle/enable`,
      template: '/users/{accountId}/manage/lifecycle/enable',
    });
  }

  /** The organizations the org API key sees, following the cursor (`links.next`). */
  async listOrganizations(): Promise<Array<{ id: string; name: string }>> {
    const out: Array<{ id: string; name: string }> = [];
    let cursor: string | undefined;
    for (let page = 0; page < 20; page++) {
      const body = await this.call<{
        data?: Array<{ id: string; attributes?: { name?: string } }>;
        links?: { next?: string | null };
      }>('org', { method: 'GET', path: '/admin/v1/orgs', query: cursor ? { cursor } : undefined });
      for (const o of body.data ?? []) out.push({ id: o.id, name: o.attributes?.name ?? o.id });
      const next = body.links?.next;
      if (!next) break;
      cursor = next.includes('cursor=') ? (new URL(next, 'https://x').searchParams.get('cursor') ?? next) : next;
    }
    return out;
  }

  getOrganization(orgId: string): Promise<{ data: { id: string; attributes?: { name?: string } } }> {
    return this.call('org', {
      method: 'GET',
      path: `/admin/v1/orgs/${encodeURIComponent(orgId)}`,
      template: '/admin/v1/orgs/{orgId}',
    });
  }

  /**
   * The organization's accounts with exactly this email, whatever their profiles show (Jira's own
   * search leaves hidden emails out) — or undefined when no org key (and org id) is stored.
   */
  async orgAccountsByEmail(
    email: string,
  ): Promise<Array<{ accountId: string; email?: string; claimStatus?: string; accountStatus?: string }> | undefined> {
    const org = await this.o.orgKey();
    if (!org?.orgId) return undefined;
    const body = await this.call<{
      data?: Array<{ accountId?: string; email?: string; claimStatus?: string; accountStatus?: string }>;
    }>('org', {
      method: 'POST',
      path: `/admin/v2/orgs/${encodeURIComponent(org.orgId)}/directories/-/users/search`,
      template: '/admin/v2/orgs/{orgId}/directories/{directoryId}/users/search',
      body: { emails: [email], limit: 10 },
    });
    return (body.data ?? []).flatMap((u) => (u.accountId ? [{ ...u, accountId: u.accountId }] : []));
  }

  /** Updates a managed account's profile (display name, job title, …). */
  async updateManagedProfile(
    accountId: string,
    fields: { name?: string; nickname?: string; extended_profile?: Record<string, string> },
  ): Promise<void> {
    await this.call('org', {
      method: 'PATCH',
      path: `/users/${encodeURIComponent(accountId)}/manage/profile`,
      template: '/users/{accountId}/manage/profile',
      body: fields,
    });
  }
}
