import { JiraError } from '../../jira/errors';
import { PROFILE_KEY } from '../planning/types';
import type { OperationKind } from './kind';

/** A managed account's name, job title and department, through the organization API. */
export const updateProfile: OperationKind<'updateProfile'> = {
  async apply(o, x) {
    let outcome = 'updated';
    try {
      await x.jira.updateManagedProfile(await x.accountOf(o.userId), o.profile);
    } catch (err) {
      // The org API manages only its organization's (managed) accounts: for the others Jira keeps the
      // profile its owner set. Recorded as written, so it is not tried again until the IdP changes it.
      if (!(err instanceof JiraError && (err.status === 404 || err.status === 403))) throw err;
      outcome = 'not-managed';
    }
    await x.records.links.saveProperty(x.op.connectionId, o.userId, PROFILE_KEY, o.profile);
    return outcome;
  },
  needs: { 'org-api-key': 'always' },
  counters: { updated: 'profilesUpdated', 'not-managed': 'profilesNotManaged' },
  details: (o) => ({ kind: o.kind }),
};
