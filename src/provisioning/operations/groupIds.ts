import type { JiraClient } from '../../jira/client';

/**
 * Jira group IDs by name, per tenant, learnt from lookups and from groups this instance created,
 * so memberships of a new group do not look the group up one by one. Group IDs never change.
 */
export class GroupIds {
  private readonly known = new Map<string, Map<string, string>>();

  set(clientKey: string, name: string, groupId: string): void {
    let tenant = this.known.get(clientKey);
    if (!tenant) this.known.set(clientKey, (tenant = new Map<string, string>()));
    if (tenant.size > 50_000) tenant.clear();
    tenant.set(name.toLowerCase(), groupId);
  }

  /** The ID of a group by its name (case-insensitive), looked up in Jira when not known; undefined when there is none. */
  async get(clientKey: string, name: string, jira: JiraClient): Promise<string | undefined> {
    const cached = this.known.get(clientKey)?.get(name.toLowerCase());
    if (cached) return cached;
    const page = await jira.listGroups({ groupName: [name], maxResults: 10 });
    const found = page.values.find((g) => g.name.toLowerCase() === name.toLowerCase());
    if (found) this.set(clientKey, found.name, found.groupId);
    return found?.groupId;
  }
}
