import type { KeycloakUser } from '../../src/sources/keycloak/client';
import { storeId, toPulledGroup, toPulledUser } from '../../src/sources/keycloak/mapping';
import type { KeycloakSettings } from '../../src/sources/keycloak/settings';

const ENTERPRISE = 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User';
const settings = (s: Partial<KeycloakSettings> = {}) =>
  ({ usernameAttribute: 'username', groupName: 'name', ...s }) as KeycloakSettings;

it("maps a user as docs/keycloak.md says: attributes one value as text, several as a list, SCIM's names beside", () => {
  const u: KeycloakUser = {
    id: '6c1b9c8e-2f3a-4d5e-8f90-1a2b3c4d5e6f',
    username: 'ann',
    email: 'ann@example.com',
    firstName: 'Ann',
    lastName: 'Lee',
    enabled: true,
    attributes: { title: ['Lead'], department: ['Sales'], costCenter: ['CC-1'], badges: ['a', 'b'] },
    access: { manage: true },
  };
  const pulled = toPulledUser(u, settings());
  expect(pulled).toMatchObject({ id: u.id, userName: 'ann', email: 'ann@example.com', displayName: 'Ann Lee' });
  expect(pulled.active).toBe(true);
  expect(pulled.resource).toMatchObject({
    attributes: { title: 'Lead', department: 'Sales', costCenter: 'CC-1', badges: ['a', 'b'] },
    title: 'Lead',
    name: { givenName: 'Ann', familyName: 'Lee' },
    [ENTERPRISE]: { department: 'Sales', costCenter: 'CC-1' },
  });
  expect(pulled.resource).not.toHaveProperty('access'); // the caller's rights, not the user's
  expect(toPulledUser(u, settings({ usernameAttribute: 'email' })).userName).toBe('ann@example.com');
  expect(toPulledUser({ ...u, enabled: false }, settings()).active).toBe(false); // disabled: inactive
});

it("keys a user by Keycloak's id, and derives one for a federated user without import", () => {
  expect(storeId('user', '6C1B9C8E-2F3A-4D5E-8F90-1A2B3C4D5E6F')).toBe('6c1b9c8e-2f3a-4d5e-8f90-1a2b3c4d5e6f');
  const federated = storeId('user', 'f:3b1c9d2e:jdoe');
  expect(federated).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
  expect(storeId('user', 'f:3b1c9d2e:jdoe')).toBe(federated); // the same every read
  expect(storeId('user', 'f:3b1c9d2e:jane')).not.toBe(federated);
});

it('names a group by its name or its path, as the connection chooses', () => {
  const g = { id: '0d3e1c2b-1a2b-4c3d-8e4f-5a6b7c8d9e0f', name: 'Platform', path: '/Engineering/Platform' };
  expect(toPulledGroup(g, settings()).displayName).toBe('Platform');
  expect(toPulledGroup(g, settings({ groupName: 'path' })).displayName).toBe('/Engineering/Platform');
});
