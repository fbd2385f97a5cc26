import { describe, expect, it } from 'vitest';
import { isActive, type Silence, type SilenceSubject, silenceFor } from '../../functions/core/silence.ts';

const NOW = Date.parse('2026-11-30T12:00:00Z');
const base = {
  reason: 'maintenance',
  createdBy: 'local-operator',
  startsAt: '2026-11-30T11:00:00Z',
  until: '2026-11-30T13:00:00Z',
};
const silence = (id: string, fields: Partial<Silence>): Silence => ({ ...base, silenceId: id, ...fields });
const FAILURE: SilenceSubject = {
  workspaceId: 'default',
  clusterId: 'c1',
  errorType: 'DatabricksDriverNotResponding',
};

describe('silenceFor', () => {
  it.each([
    { name: 'its cluster', fields: { clusterId: 'c1' }, covers: true },
    {
      name: 'its cluster in its workspace',
      fields: { clusterId: 'c1', workspaceId: 'default' },
      covers: true,
    },
    {
      name: 'its cluster id in another workspace',
      fields: { clusterId: 'c1', workspaceId: 'other' },
      covers: false,
    },
    { name: 'another cluster', fields: { clusterId: 'c2' }, covers: false },
    { name: 'its workspace', fields: { workspaceId: 'default' }, covers: true },
    { name: 'another workspace', fields: { workspaceId: 'other' }, covers: false },
    { name: 'its error type', fields: { errorType: 'DatabricksDriverNotResponding' }, covers: true },
    { name: 'another error type', fields: { errorType: 'DatabricksResourceExhausted' }, covers: false },
    {
      name: 'its cluster, but ended early',
      fields: { clusterId: 'c1', endedAt: '2026-11-30T11:30:00Z' },
      covers: false,
    },
    {
      name: 'its cluster, until now exactly',
      fields: { clusterId: 'c1', until: '2026-11-30T12:00:00Z' },
      covers: false,
    },
    {
      name: 'its cluster, from now exactly',
      fields: { clusterId: 'c1', startsAt: '2026-11-30T12:00:00Z' },
      covers: true,
    },
    { name: 'nothing at all', fields: {}, covers: false },
  ])('a silence of $name covers the failure: $covers', ({ fields, covers }) => {
    // Act
    const found = silenceFor([silence('SIL-1', fields)], FAILURE, NOW);

    // Assess
    expect(found?.silenceId).toBe(covers ? 'SIL-1' : undefined);
  });

  it('names the covering silence that lasts longest', () => {
    // Prepare
    const silences = [
      silence('SIL-short', { clusterId: 'c1', until: '2026-11-30T12:30:00Z' }),
      silence('SIL-long', { errorType: 'DatabricksDriverNotResponding', until: '2026-11-30T18:00:00Z' }),
      silence('SIL-other', { clusterId: 'c9', until: '2026-12-30T18:00:00Z' }),
    ];

    // Act
    const found = silenceFor(silences, FAILURE, NOW);

    // Assess
    expect(found?.silenceId).toBe('SIL-long');
  });

  it.each([
    { at: '2026-11-30T10:59:59Z', active: false },
    { at: '2026-11-30T11:00:00Z', active: true },
    { at: '2026-11-30T12:59:59Z', active: true },
    { at: '2026-11-30T13:00:00Z', active: false },
  ])('a silence from 11:00 to 13:00 is active at $at: $active', ({ at, active }) => {
    // Act / Assess
    expect(isActive(silence('SIL-1', { clusterId: 'c1' }), Date.parse(at))).toBe(active);
  });
});
