import type { NetworkRecord } from '../../src/engine/model.js';

/** A network record with Docker's defaults for whatever a test does not say (a user-defined bridge). */
export function networkRecord(fields: Partial<NetworkRecord> & { id: string; name: string }): NetworkRecord {
  return {
    driver: 'bridge',
    scope: 'local',
    created: '2024-01-01T00:00:00.000000000Z',
    enableIPv6: false,
    internal: false,
    attachable: false,
    ingress: false,
    configFrom: '',
    configOnly: false,
    ipam: { driver: 'default', options: {}, config: [] },
    options: {},
    labels: {},
    userSubnets: true,
    predefined: false,
    driverState: {},
    ...fields,
  };
}
