import { describe, expect, it } from 'vitest';
import {
  describeTarget,
  endOf,
  isActive,
  type Silence,
  type SilenceSubject,
  type SilenceTarget,
  silenceFor,
  silenceScopeOf,
  silenceScopesFor,
} from '../../functions/core/silence.ts';

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

describe('a silence of a failure without a cluster', () => {
  it.each([
    { name: 'a cluster', fields: { clusterId: 'c1' }, covers: false },
    { name: 'its workspace', fields: { workspaceId: 'default' }, covers: true },
    { name: 'its error type', fields: { errorType: 'DatabricksJobFailure' }, covers: true },
  ])('a silence of $name covers a job failure with no cluster: $covers', ({ fields, covers }) => {
    // Prepare
    const subject: SilenceSubject = { workspaceId: 'default', errorType: 'DatabricksJobFailure' };

    // Act
    const found = silenceFor([silence('SIL-1', fields)], subject, NOW);

    // Assess
    expect(found?.silenceId).toBe(covers ? 'SIL-1' : undefined);
  });
});

describe('endOf', () => {
  it.each([
    { name: 'runs to its end', endedAt: undefined, end: '2026-11-30T13:00:00Z' },
    { name: 'was removed early', endedAt: '2026-11-30T11:30:00Z', end: '2026-11-30T11:30:00Z' },
    { name: 'was removed after it ended', endedAt: '2026-11-30T14:00:00Z', end: '2026-11-30T13:00:00Z' },
  ])('a silence until 13:00 that $name ends at $end', ({ endedAt, end }) => {
    // Prepare
    const found = silence('SIL-1', { clusterId: 'c1', ...(endedAt === undefined ? {} : { endedAt }) });

    // Act
    const at = endOf(found);

    // Assess
    expect(at).toBe(Date.parse(end));
  });
});

describe('what a silence is about', () => {
  it.each<{ target: SilenceTarget; described: string; scope: string }>([
    { target: { clusterId: 'c1' }, described: 'cluster c1', scope: 'cluster#c1' },
    {
      target: { clusterId: 'c1', workspaceId: 'prod' },
      described: 'cluster c1 in prod',
      scope: 'workspace-cluster#prod#c1',
    },
    { target: { workspaceId: 'prod' }, described: 'workspace prod', scope: 'workspace#prod' },
    {
      target: { errorType: 'DatabricksDriverNotResponding' },
      described: 'error type DatabricksDriverNotResponding',
      scope: 'error-type#DatabricksDriverNotResponding',
    },
    { target: {}, described: 'error type ?', scope: 'error-type#' },
    {
      target: { clusterId: 'a#b', workspaceId: 'w#1' },
      described: 'cluster a#b in w#1',
      scope: 'workspace-cluster#w%231#a%23b',
    },
    { target: { workspaceId: 'w#1' }, described: 'workspace w#1', scope: 'workspace#w%231' },
    { target: { errorType: 'x#y' }, described: 'error type x#y', scope: 'error-type#x%23y' },
  ])('describes $target as "$described", kept under $scope', ({ target, described, scope }) => {
    // Act
    const text = describeTarget(target);
    const key = silenceScopeOf(target);

    // Assess
    expect(text).toBe(described);
    expect(key).toBe(scope);
  });

  it.each<{ subject: SilenceSubject; scopes: string[] }>([
    {
      subject: FAILURE,
      scopes: [
        'cluster#c1',
        'workspace-cluster#default#c1',
        'workspace#default',
        'error-type#DatabricksDriverNotResponding',
      ],
    },
    {
      subject: { workspaceId: 'default', errorType: 'DatabricksJobFailure' },
      scopes: ['workspace#default', 'error-type#DatabricksJobFailure'],
    },
  ])('checks the scopes $scopes for a failure of $subject', ({ subject, scopes }) => {
    // Act
    const found = silenceScopesFor(subject);

    // Assess
    expect(found).toEqual(scopes);
  });
});
