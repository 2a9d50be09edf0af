import { addMemberOf, childGroups, flatten, scopeOf, type GroupRead } from '../../src/sources/ldap/groups';

/** The group graph of an LDAP read, without a directory: nesting with a cycle, memberOf, the "only members of" scope. */
const group = (id: string, o: Partial<GroupRead> = {}): GroupRead => ({
  id,
  dn: `cn=${id},ou=groups`,
  name: id,
  users: [],
  others: [],
  memberOf: [],
  ...o,
});

describe('LDAP group graph', () => {
  it('flattens nested groups, a cycle included, each group once', () => {
    const inner = group('inner', { users: ['bob'], others: ['cn=outer,ou=groups', 'uid=gone,ou=people'] });
    const outer = group('outer', { users: ['ann'], others: ['cn=inner,ou=groups'] });
    const solo = group('solo', { users: ['cy', 'cy'] });
    const children = childGroups([inner, outer, solo]);
    expect([...children.keys()].sort()).toEqual(['inner', 'outer']);
    expect([...flatten(outer, children)].sort()).toEqual(['ann', 'bob']);
    expect([...flatten(inner, children)].sort()).toEqual(['ann', 'bob']);
    expect([...flatten(solo, children)]).toEqual(['cy']);
  });

  it('memberOf: users come with their groups, and a group in another nests by its own memberOf', () => {
    const team = group('team', { memberOf: ['cn=all,ou=groups'] });
    const all = group('all');
    addMemberOf(
      [team, all],
      new Map([
        ['ann', ['cn=team,ou=groups']],
        ['bob', ['cn=all,ou=groups', 'cn=unknown']],
      ]),
    );
    expect(team.users).toEqual(['ann']);
    expect(all.users).toEqual(['bob']);
    expect([...flatten(all, childGroups([team, all]))].sort()).toEqual(['ann', 'bob']);
  });

  it('the scope of "only users of these groups": the chosen ones, the groups in them, their members', () => {
    const a = group('a', { others: ['uid=ann,ou=people', 'cn=b,ou=groups'] });
    const b = group('b', { others: ['uid=bob,ou=people', 'cn=a,ou=groups'] });
    const c = group('c', { others: ['uid=cy,ou=people'] });
    const scope = scopeOf([a, b, c], ['cn=a,ou=groups', 'cn=missing']);
    expect([...scope.groups].sort()).toEqual(['cn=a,ou=groups', 'cn=b,ou=groups']);
    expect([...scope.members].sort()).toEqual(['uid=ann,ou=people', 'uid=bob,ou=people']);
  });
});
