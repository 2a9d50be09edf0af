import type { PulledGroup, PulledUser } from '../../directory/pulled';

type Obj = Record<string, unknown>;

/** A Graph object without Graph's annotations (`@odata.*`, `members@delta`, `@removed`). */
export const stripOdata = (o: Obj): Obj =>
  Object.fromEntries(
    Object.entries(o).filter(([k]) => !k.startsWith('@odata.') && !k.includes('@delta') && k !== '@removed'),
  );

/**
 * A Graph user as the directory stores it: the Graph properties as they are, plus SCIM's names for
 * the identity (userName from the chosen attribute, else the UPN; emails from mail, else a UPN that
 * is an address and not a guest's; active from accountEnabled), so the rules can read either.
 */
export function toPulledUser(u: Obj, usernameAttribute: string): PulledUser {
  const graph = stripOdata(u);
  const chosen = graph[usernameAttribute];
  const upn = String(graph.userPrincipalName ?? graph.id);
  const userName = typeof chosen === 'string' && chosen.trim() ? chosen : upn;
  const mail =
    typeof graph.mail === 'string' && graph.mail
      ? graph.mail
      : !upn.includes('#EXT#') && upn.includes('@')
        ? upn
        : null;
  const active = graph.accountEnabled !== false;
  const displayName = typeof graph.displayName === 'string' ? graph.displayName : null;
  return {
    id: graph.id as string,
    userName,
    email: mail,
    displayName,
    active,
    externalId: (graph.onPremisesImmutableId as string | undefined) ?? null,
    resource: {
      ...graph,
      userName,
      displayName,
      active,
      emails: mail ? [{ value: mail, primary: true, type: 'work' }] : [],
      name: { givenName: graph.givenName ?? null, familyName: graph.surname ?? null },
      // Job title and department where SCIM keeps them, so one attribute mapping serves push and pull.
      ...(typeof graph.jobTitle === 'string' ? { title: graph.jobTitle } : {}),
      ...(typeof graph.department === 'string' ? { [ENTERPRISE]: { department: graph.department } } : {}),
    },
  };
}

const ENTERPRISE = 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User';

/** A Graph group as the directory stores it. */
export function toPulledGroup(g: Obj): PulledGroup {
  return {
    id: g.id as string,
    displayName: g.displayName as string,
    resource: { ...stripOdata(g), displayName: g.displayName, description: g.description ?? null },
  };
}
