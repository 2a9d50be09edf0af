/* A run and its operations in words: what started it, what an operation is about, its figures. */

/** What started a run, in words (the API's `trigger`). */
export function triggerText(trigger) {
  return (
    {
      scim: 'SCIM changes',
      manual: 'Synchronize',
      schedule: 'Schedule',
      login: 'First login',
      rules: 'Rules saved',
    }[trigger] || trigger
  );
}

/** What an operation is about, as people name it: the user's email (or name) and the group. */
export function subjectOf(o) {
  var u = o.user;
  var who = u && (u.email || u.displayName || u.accountId || u.id);
  if (o.group && who) return o.group + (o.kind === 'removeMember' ? ' → ' : ' ← ') + who;
  return who || o.group || o.subject;
}

/** A customers run's figures in words (JSM Customer Sync); null for a run that touched no customer. */
export function customerSummary(k) {
  k = k || {};
  if (!(k.customersCreated || k.customersLinked || k.accessGrants || k.accessWithdrawals || k.openAccessDesks))
    return null;
  return (
    (k.customersCreated || 0) +
    ' customers created, ' +
    (k.customersLinked || 0) +
    ' linked, ' +
    (k.accessGrants || 0) +
    ' grant calls, ' +
    (k.accessWithdrawals || 0) +
    ' withdrawal calls' +
    (k.openAccessDesks ? ', ' + k.openAccessDesks + ' refused by open-access desks' : '')
  );
}

export function changesOf(run) {
  var k = run.counts || {};
  return (
    (k.customersCreated || 0) +
    (k.customersLinked || 0) +
    (k.accessGrants || 0) +
    (k.accessWithdrawals || 0) +
    (k.usersCreated || 0) +
    (k.usersLinked || 0) +
    (k.usersUpdated || 0) +
    (k.profilesUpdated || 0) +
    (k.usersDeprovisioned || 0) +
    (k.usersReactivated || 0) +
    (k.groupsCreated || 0) +
    (k.membershipsAdded || 0) +
    (k.membershipsRemoved || 0)
  );
}
