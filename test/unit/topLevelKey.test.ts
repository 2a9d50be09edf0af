import { readAttribute, topLevelKey } from '../../src/provisioning/planning/attributes';

describe('topLevelKey: the resource key an attribute path reads (the snapshot keeps only those)', () => {
  it.each([
    ['userName', 'userName'],
    ['emails[primary]', 'emails'],
    ['emails[type eq "work"].value', 'emails'],
    ['name.givenName', 'name'],
    [
      'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department',
      'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User',
    ],
    [
      'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value',
      'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User',
    ],
    ['extension_1a2b_costCenter', 'extension_1a2b_costCenter'],
  ])('%s → %s', (path, key) => {
    expect(topLevelKey(path)).toBe(key);
    // and reading the path from a resource cut down to that key gives the same value
    const resource = {
      userName: 'ann',
      emails: [{ value: 'a@x', type: 'work', primary: true }],
      name: { givenName: 'Ann' },
      extension_1a2b_costCenter: 'C1',
      'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User': { department: 'R&D', manager: { value: 'm1' } },
      other: 'x',
    };
    expect(readAttribute({ [key]: (resource as Record<string, unknown>)[key] }, path)).toBe(
      readAttribute(resource, path),
    );
  });
});
