import { plan } from '../../src/provisioning/planning';
import type { Link, PlanInput, PlannedUser } from '../../src/provisioning/planning/types';
import { rulesSchema } from '../../src/provisioning/rules';

/** A compact world: Jira groups by name (with member account IDs), links, users, rules. */
function world(o: {
  rules?: unknown;
  users?: PlannedUser[];
  departed?: string[];
  links?: Record<string, Partial<Link> & { accountId: string }>;
  groups?: Record<string, string[]>;
  managed?: Array<[string, string]>;
  others?: Array<[string, string]>;
  importUsers?: boolean;
  importGroups?: boolean;
}): PlanInput {
  const groups = new Map<string, { groupId: string; name: string }>();
  const members = new Map<string, Set<string>>();
  for (const [name, accounts] of Object.entries(o.groups ?? {})) {
    groups.set(name.toLowerCase(), { groupId: `gid-${name}`, name });
    members.set(`gid-${name}`, new Set(accounts));
  }
  return {
    importUsers: o.importUsers ?? true,
    importGroups: o.importGroups ?? true,
    rules: rulesSchema.parse(o.rules ?? {}),
    users: o.users ?? [],
    allIdpGroups: [...new Set((o.users ?? []).flatMap((u) => u.groups))],
    departed: o.departed ?? [],
    links: new Map(
      Object.entries(o.links ?? {}).map(([id, l]) => [
        id,
        { deprovisioned: false, properties: {}, removedGroups: [], ...l },
      ]),
    ),
    jira: { groups, members },
    managed: new Set((o.managed ?? []).map(([a, g]) => `${a}|gid-${g}`)),
    managedByOthers: new Set((o.others ?? []).map(([a, g]) => `${a}|gid-${g}`)),
  };
}

const user = (id: string, groups: string[] = [], extra: Record<string, unknown> = {}, active = true): PlannedUser => ({
  id,
  active,
  groups,
  resource: {
    userName: `${id}@corp.example`,
    displayName: `User ${id}`,
    emails: [{ value: `${id}@corp.example`, primary: true }],
    ...extra,
  },
});
/** The plan as short strings, in order. */
const ops = (input: PlanInput) =>
  plan(input).operations.map(({ op }) => {
    switch (op.kind) {
      case 'createGroup':
        return `createGroup ${op.name}`;
      case 'ensureUser':
        return `ensureUser ${op.userId} ${op.email}${op.create ? '' : ' (link only)'}`;
      case 'addMember':
        return `add ${op.userId} ${op.groupName}`;
      case 'removeMember':
        return `remove ${op.accountId} ${op.groupName}`;
      case 'setProperty':
        return `property ${op.userId} ${op.key}=${JSON.stringify(op.value)}`;
      case 'updateProfile':
        return `profile ${op.userId} ${JSON.stringify(op.profile)}`;
      case 'reactivate':
        return `reactivate ${op.accountId}${op.regroup.length ? ` +${op.regroup.join(',')}` : ''}`;
      case 'reassignLeads':
        return `leads ${op.accountId} → ${op.projectLead}/${op.componentLead}`;
      case 'deprovision':
        return `deprovision ${op.accountId} ${op.mode}${op.removedGroups.length ? ` (${op.removedGroups.join(',')})` : ''}`;
    }
  });

const onTheFly = { groups: { onTheFly: { enabled: true } } };

describe('users', () => {
  it('links or creates a new user, with default and mapped groups; creates missing groups first', () => {
    expect(
      ops(
        world({
          rules: {
            groups: {
              onTheFly: { enabled: true },
              defaultForNewUsers: ['newcomers'],
              defaultForAllUsers: ['everyone'],
            },
          },
          users: [user('ann', ['Engineering'])],
          groups: { everyone: [] },
        }),
      ),
    ).toEqual([
      'createGroup Engineering',
      'createGroup newcomers',
      'ensureUser ann ann@corp.example',
      'add ann everyone',
      'add ann Engineering',
      'add ann newcomers',
    ]);
  });

  it('with user import off, only links existing Jira accounts', () => {
    expect(ops(world({ importUsers: false, users: [user('ann')] }))).toEqual([
      'ensureUser ann ann@corp.example (link only)',
    ]);
  });

  it('with group import off, does not create groups and says so', () => {
    const input = world({ importGroups: false, ...{ rules: onTheFly }, users: [user('ann', ['Missing'])] });
    expect(ops(input)).toEqual(['ensureUser ann ann@corp.example']);
    expect(plan(input).warnings).toEqual([
      expect.stringContaining('"Missing" and group import is off'),
      expect.stringMatching(/display name, job title or department .* organization API key/),
    ]);
  });

  it('reads the email through the attribute mapping, falls back to an email-like userName, else warns', () => {
    expect(
      ops(
        world({
          rules: { attributes: { email: 'emails[type eq "work"].value' } },
          users: [
            user('ann', [], {
              emails: [
                { value: 'home@x.example', type: 'home' },
                { value: 'work@x.example', type: 'work' },
              ],
            }),
          ],
        }),
      ),
    ).toEqual(['ensureUser ann work@x.example']);
    expect(ops(world({ users: [user('bob', [], { emails: undefined })] }))).toEqual([
      'ensureUser bob bob@corp.example',
    ]);
    const input = world({ users: [user('cy', [], { emails: undefined, userName: 'cy' })] });
    expect(ops(input)).toEqual([]);
    expect(plan(input).warnings[0]).toMatch(/no email/);
  });

  it('does nothing for a linked user whose Jira state already matches', () => {
    expect(
      ops(
        world({
          ...{ rules: onTheFly },
          users: [user('ann', ['eng'])],
          links: { ann: { accountId: 'A' } },
          groups: { eng: ['A'] },
        }),
      ),
    ).toEqual([]);
  });

  it('writes custom attributes as user properties only when they changed; not when updates are off', () => {
    const rules = {
      attributes: {
        custom: [
          {
            from: 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department',
            propertyKey: 'idp.department',
          },
        ],
      },
    };
    const u = user('ann', [], { 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User': { department: 'R&D' } });
    expect(ops(world({ rules, users: [u], links: { ann: { accountId: 'A' } } }))).toEqual([
      'property ann idp.department={"value":"R&D"}',
    ]);
    expect(
      ops(
        world({
          rules,
          users: [u],
          links: { ann: { accountId: 'A', properties: { 'idp.department': { value: 'R&D' } } } },
        }),
      ),
    ).toEqual([]);
    expect(
      ops(world({ rules: { ...rules, users: { update: false } }, users: [u], links: { ann: { accountId: 'A' } } })),
    ).toEqual([]);
  });

  it('updates profiles (display name, job title, department) through the org key when they changed; says once without one', () => {
    const u = user('ann', [], {
      title: 'Engineer',
      'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User': { department: 'R&D' },
    });
    const profile = { name: 'User ann', extended_profile: { job_title: 'Engineer', department: 'R&D' } };
    const linked = { ann: { accountId: 'A' } };
    expect(ops({ ...world({ users: [u], links: linked }), profiles: true })).toEqual([
      `profile ann ${JSON.stringify(profile)}`,
    ]);
    // written before: nothing to do
    const written = { ann: { accountId: 'A', properties: { '@profile': profile } } };
    expect(ops({ ...world({ users: [u], links: written }), profiles: true })).toEqual([]);
    // a new user's profile is written after the account exists (Jira cannot set a display name on create)
    expect(ops({ ...world({ users: [u] }), profiles: true })).toEqual([
      'ensureUser ann ann@corp.example',
      `profile ann ${JSON.stringify(profile)}`,
    ]);
    // without an org key: no operation, one warning for the whole plan
    const without = plan(world({ users: [u, user('bob')], links: { ...linked, bob: { accountId: 'B' } } }));
    expect(without.operations).toEqual([]);
    expect(without.warnings).toEqual([expect.stringMatching(/^2 users' display name.*organization API key/)]);
    // job title and department can be left alone
    const rules = { attributes: { jobTitle: null, department: null } };
    expect(ops({ ...world({ rules, users: [u], links: linked }), profiles: true })).toEqual([
      'profile ann {"name":"User ann"}',
    ]);
  });

  it("links from the site's account list without a search, and says when some accounts hide their emails", () => {
    const input = world({ users: [user('ann'), user('bob'), user('cat')] });
    input.jira.accounts = {
      byEmail: new Map([
        ['ann@corp.example', ['A']],
        ['cat@corp.example', ['C1', 'C2']],
      ]),
      hidden: 0,
    };
    const site = (inp: PlanInput) =>
      plan(inp).operations.flatMap(({ op }) => (op.kind === 'ensureUser' ? [[op.userId, op.site]] : []));
    expect(site(input)).toEqual([
      ['ann', { accountId: 'A', hidden: false }],
      ['bob', { hidden: false }], // nobody has the email: create at once
      ['cat', undefined], // several: the search decides (and parks)
    ]);
    input.jira.accounts.hidden = 3;
    expect(site(input)[1]).toEqual(['bob', { hidden: true }]); // it may be one of those: search first
  });
});

describe('group mapping', () => {
  it('maps an IdP group manually to several Jira groups', () => {
    expect(
      ops(
        world({
          rules: { groups: { manual: [{ idpGroup: 'Admins', jiraGroups: ['jira-admins', 'confluence-admins'] }] } },
          users: [user('ann', ['admins'])],
          links: { ann: { accountId: 'A' } },
          groups: { 'jira-admins': [], 'confluence-admins': [] },
        }),
      ),
    ).toEqual(['add ann jira-admins', 'add ann confluence-admins']);
  });

  it('maps on the fly, rewriting with a regex; names the pattern does not match are not mapped', () => {
    const rules = { groups: { onTheFly: { enabled: true, pattern: '^AAD-(.*)$', replacement: 'jira-$1' } } };
    expect(
      ops(
        world({
          rules,
          users: [user('ann', ['AAD-dev', 'Other'])],
          links: { ann: { accountId: 'A' } },
          groups: { 'jira-dev': [] },
        }),
      ),
    ).toEqual(['add ann jira-dev']);
  });

  it('applies include and exclude filters to on-the-fly mapping', () => {
    const rules = { groups: { onTheFly: { enabled: true }, include: ['^team-'], exclude: ['-secret$'] } };
    expect(
      ops(
        world({
          rules,
          users: [user('ann', ['team-a', 'team-secret', 'other'])],
          links: { ann: { accountId: 'A' } },
          groups: { 'team-a': [], 'team-secret': [], other: [] },
        }),
      ),
    ).toEqual(['add ann team-a']);
  });

  it('keeps existing memberships: removes only those this connection added', () => {
    const input = world({
      ...{ rules: onTheFly },
      users: [user('ann', ['a'])],
      links: { ann: { accountId: 'A' } },
      groups: { a: ['A'], b: ['A'], c: ['A'] },
      managed: [['A', 'b']],
    });
    // c is not this connection's (nobody maps to it, nor did we add it) and stays; b was added by us, and no IdP
    // group maps to it any more (renamed or deleted in the IdP): it goes
    const withB = world({
      ...{ rules: onTheFly },
      users: [user('ann', ['a']), user('bob', ['b'])],
      links: { ann: { accountId: 'A' }, bob: { accountId: 'B' } },
      groups: { a: ['A'], b: ['A', 'B'] },
      managed: [['A', 'b']],
    });
    expect(ops(input)).toEqual(['remove A b']);
    expect(ops(withB)).toEqual(['remove A b']);
    const notOurs = world({
      ...{ rules: onTheFly },
      users: [user('ann', ['a']), user('bob', ['b'])],
      links: { ann: { accountId: 'A' }, bob: { accountId: 'B' } },
      groups: { a: ['A'], b: ['A', 'B'] },
    });
    expect(ops(notOurs)).toEqual([]);
  });

  it('makes managed groups match the IdP when keepExisting is off, but never takes what another connection added', () => {
    const rules = { groups: { onTheFly: { enabled: true }, keepExisting: false } };
    const users = [user('ann', ['a']), user('bob', ['b'])];
    const links = { ann: { accountId: 'A' }, bob: { accountId: 'B' } };
    expect(ops(world({ rules, users, links, groups: { a: ['A'], b: ['A', 'B'] } }))).toEqual(['remove A b']);
    expect(ops(world({ rules, users, links, groups: { a: ['A'], b: ['A', 'B'] }, others: [['A', 'b']] }))).toEqual([]);
  });

  it('mirrors Jira-only members out of managed groups too, but not what another connection added, nor with keepExisting on', () => {
    const rules = { groups: { onTheFly: { enabled: true }, keepExisting: false } };
    const users = [user('ann', ['a'])];
    const links = { ann: { accountId: 'A' } };
    // J is in "a" in Jira only; K was added to "a" by another connection; "x" is not managed at all
    const groups = { a: ['A', 'J', 'K'], x: ['J'] };
    expect(ops(world({ rules, users, links, groups, others: [['K', 'a']] }))).toEqual(['remove J a']);
    expect(
      ops(world({ rules: { groups: { onTheFly: { enabled: true } } }, users, links, groups, others: [['K', 'a']] })),
    ).toEqual([]);
  });

  it('gives default groups for new users once, and does not take them away later', () => {
    const rules = { groups: { defaultForNewUsers: ['newcomers'] } };
    expect(
      ops(
        world({
          rules,
          users: [user('ann')],
          links: { ann: { accountId: 'A' } },
          groups: { newcomers: ['A'] },
          managed: [['A', 'newcomers']],
        }),
      ),
    ).toEqual([]);
  });
});

describe('deprovisioning', () => {
  const disabled = user('ann', ['a'], {}, false);
  const links = { ann: { accountId: 'A' } };

  it('does nothing with mode none', () => {
    expect(
      ops(
        world({
          rules: { users: { deprovision: 'none' } },
          users: [disabled],
          links,
          groups: { a: ['A'] },
          managed: [['A', 'a']],
        }),
      ),
    ).toEqual([]);
  });

  it('removes the groups this connection manages (removeManagedGroups, the default)', () => {
    expect(
      ops(
        world({
          ...{ rules: onTheFly },
          users: [disabled, user('bob', ['a', 'b'])],
          links: { ...links, bob: { accountId: 'B' } },
          groups: { a: ['A', 'B'], b: ['A', 'B'], c: ['A'] },
          managed: [
            ['A', 'a'],
            ['A', 'b'],
          ],
        }),
      ),
    ).toEqual(['remove A a', 'remove A b', 'deprovision A removeManagedGroups']);
  });

  it('removes product-access groups (not those another connection added), and records what it removed', () => {
    const rules = {
      users: { deprovision: 'removeProductGroups', productGroups: ['jira-software-users', 'jira-servicedesk-users'] },
    };
    expect(
      ops(
        world({
          rules,
          users: [disabled],
          links,
          groups: { 'jira-software-users': ['A'], 'jira-servicedesk-users': ['A'] },
          others: [['A', 'jira-servicedesk-users']],
        }),
      ),
    ).toEqual(['remove A jira-software-users', 'deprovision A removeProductGroups (jira-software-users)']);
  });

  it('hands over leads, then deletes from the site or deactivates', () => {
    const leads = { defaultProjectLead: 'LEAD', defaultComponentLead: 'CLEAD' };
    expect(
      ops(world({ rules: { users: { deprovision: 'deleteFromSite', ...leads } }, users: [disabled], links })),
    ).toEqual(['leads A → LEAD/CLEAD', 'deprovision A deleteFromSite']);
    expect(ops(world({ rules: { users: { deprovision: 'deactivate' } }, users: [disabled], links }))).toEqual([
      'deprovision A deactivate',
    ]);
  });

  it('deprovisions users deleted in the IdP, and not twice', () => {
    expect(
      ops(
        world({
          rules: { users: { deprovision: 'deactivate' } },
          departed: ['gone'],
          links: { gone: { accountId: 'G' } },
        }),
      ),
    ).toEqual(['deprovision G deactivate']);
    expect(
      ops(
        world({
          rules: { users: { deprovision: 'deactivate' } },
          departed: ['gone'],
          links: { gone: { accountId: 'G', deprovisioned: true } },
        }),
      ),
    ).toEqual([]);
    expect(ops(world({ users: [disabled], links: { ann: { accountId: 'A', deprovisioned: true } } }))).toEqual([]);
  });

  it('reactivates a user who comes back (re-adding removed product groups); not when reactivation is off', () => {
    const back = user('ann');
    expect(
      ops(
        world({
          rules: { users: { deprovision: 'deactivate' } },
          users: [back],
          links: { ann: { accountId: 'A', deprovisioned: true } },
        }),
      ),
    ).toEqual(['reactivate A']);
    expect(
      ops(
        world({
          rules: { users: { deprovision: 'removeProductGroups' } },
          users: [back],
          links: { ann: { accountId: 'A', deprovisioned: true, removedGroups: ['jira-software-users'] } },
        }),
      ),
    ).toEqual(['reactivate A +jira-software-users']);
    expect(
      ops(
        world({
          rules: { users: { reactivate: false } },
          users: [back],
          links: { ann: { accountId: 'A', deprovisioned: true } },
        }),
      ),
    ).toEqual([]);
  });

  it('brings a user deleted from the site back by email', () => {
    expect(
      ops(
        world({
          rules: { users: { deprovision: 'deleteFromSite' } },
          users: [user('ann')],
          links: { ann: { accountId: 'A', deprovisioned: true } },
        }),
      ),
    ).toEqual(['ensureUser ann ann@corp.example']);
  });
});

describe('the plan as a whole', () => {
  it('orders operations by phase: groups, users, properties, memberships, leads, deprovisioning', () => {
    const p = plan(
      world({
        rules: {
          groups: { onTheFly: { enabled: true } },
          users: { deprovision: 'deleteFromSite', defaultProjectLead: 'L' },
          attributes: { custom: [{ from: 'title', propertyKey: 'title' }] },
        },
        users: [user('new', ['g1'], { title: 'x' }), user('old', [], {}, false)],
        links: { old: { accountId: 'O' } },
      }),
    );
    expect(p.operations.map((o) => o.phase)).toEqual([...p.operations.map((o) => o.phase)].sort());
    expect(p.operations.every((o) => o.reason.length > 10)).toBe(true);
  });

  it('is a fixed point: once Jira matches, the next plan is empty', () => {
    const rules = {
      groups: { onTheFly: { enabled: true }, defaultForAllUsers: ['all'] },
      attributes: { custom: [{ from: 'title', propertyKey: 'title' }] },
    };
    const users = [user('ann', ['x', 'y'], { title: 'CTO' }), user('bob', ['y'])];
    expect(
      ops(
        world({
          rules,
          users,
          links: { ann: { accountId: 'A', properties: { title: { value: 'CTO' } } }, bob: { accountId: 'B' } },
          groups: { all: ['A', 'B'], x: ['A'], y: ['A', 'B'] },
          managed: [
            ['A', 'x'],
            ['A', 'y'],
            ['B', 'y'],
            ['A', 'all'],
            ['B', 'all'],
          ],
        }),
      ),
    ).toEqual([]);
  });
});

describe('rules validation', () => {
  it.each([
    [{ groups: { include: ['(unclosed'] } }, 'groups.include.0', /regular expression/],
    [{ groups: { onTheFly: { enabled: true, pattern: '[' } } }, 'groups.onTheFly.pattern', /regular expression/],
    [{ users: { products: ['jira-everything'] } }, 'users.products.0', /must be one of/],
    [{ groups: { manual: [{ idpGroup: 'A', jiraGroups: [] }] } }, 'groups.manual.0.jiraGroups', /at least one/],
    [{ users: { deprovision: 'explode' } }, 'users.deprovision', /must be one of/],
    [{ users: { deprovision: 'removeProductGroups', productGroups: [] } }, 'users.productGroups', /at least one group/],
    [{ attributes: { email: 'emails[type eq' } }, 'attributes.email', /not an attribute path/],
    [
      { attributes: { custom: [{ from: 'title', propertyKey: 'has space' }] } },
      'attributes.custom.0.propertyKey',
      /letters/,
    ],
    [{ groups: { nonsense: true } }, 'groups', /Unrecognized key/],
  ])('refuses %p at %s', (rules, field, message) => {
    const r = rulesSchema.safeParse(rules);
    expect(r.success).toBe(false);
    const issue = r.success ? undefined : r.error.issues.find((i) => i.path.join('.') === field);
    expect(issue?.message).toMatch(message);
  });
});
