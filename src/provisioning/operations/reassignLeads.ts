import { collect, pageThrough } from '../../jira/paging';
import type { OperationKind } from './kind';

/** The projects and components a leaving user leads get the rules' new lead. */
export const reassignLeads: OperationKind<'reassignLeads'> = {
  async apply(o, { jira }) {
    let moved = 0;
    const projects = await collect(pageThrough((startAt) => jira.searchProjects(startAt)));
    for (const p of projects) {
      if (o.projectLead && p.lead?.accountId === o.accountId) {
        await jira.setProjectLead(p.key, o.projectLead);
        moved++;
      }
      if (!o.componentLead) continue;
      for (const c of await jira.projectComponents(p.key)) {
        if (c.lead?.accountId !== o.accountId) continue;
        await jira.setComponentLead(c.id, o.componentLead);
        moved++;
      }
    }
    return moved ? 'reassigned' : 'nothing-led';
  },
  needs: {},
  counters: { reassigned: 'leadsReassigned' },
  details: (o) => ({
    kind: o.kind,
    userId: o.userId,
    accountId: o.accountId,
    projectLead: o.projectLead,
    componentLead: o.componentLead,
  }),
};
