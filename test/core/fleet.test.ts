import { describe, expect, it } from 'vitest';
import { ConfigurationError } from '../../functions/core/errors.ts';
import {
  approvalRequired,
  capOf,
  DEFAULT_RECOVERY_CAP,
  leaseSecondsFor,
  parseRecoveryCap,
} from '../../functions/core/fleet.ts';
import { DEFAULT_PLAYBOOKS, type Playbook } from '../../functions/core/playbooks.ts';

describe('RECOVERY_CAP', () => {
  it.each([
    { raw: undefined, workspaceId: 'prod', cap: DEFAULT_RECOVERY_CAP },
    { raw: '', workspaceId: 'prod', cap: DEFAULT_RECOVERY_CAP },
    { raw: '   ', workspaceId: 'prod', cap: DEFAULT_RECOVERY_CAP },
    { raw: '{"default": 2}', workspaceId: 'prod', cap: 2 },
    { raw: '{"default": 2, "workspaces": {"prod": 10}}', workspaceId: 'prod', cap: 10 },
    { raw: '{"default": 2, "workspaces": {"prod": 10}}', workspaceId: 'dev', cap: 2 },
    { raw: '{"workspaces": {"prod": 1}}', workspaceId: 'dev', cap: DEFAULT_RECOVERY_CAP },
  ])('gives workspace $workspaceId a cap of $cap for $raw', ({ raw, workspaceId, cap }) => {
    // Act
    const found = capOf(parseRecoveryCap(raw), workspaceId);

    // Assess
    expect(found).toBe(cap);
  });

  it.each([
    { raw: 'five', says: 'RECOVERY_CAP must be JSON: {"default": 5, "workspaces": {"prod": 10}}' },
    { raw: '{"default": 0}', says: 'RECOVERY_CAP: default' },
    { raw: '{"default": 1001}', says: 'RECOVERY_CAP: default' },
    { raw: '{"default": 2.5}', says: 'RECOVERY_CAP: default' },
    { raw: '{"workspaces": {"prod": 0}}', says: 'RECOVERY_CAP: workspaces.prod' },
    { raw: '{"workspaces": {"": 3}}', says: 'RECOVERY_CAP: workspaces' },
    { raw: `{"workspaces": {"${'w'.repeat(65)}": 3}}`, says: 'RECOVERY_CAP: workspaces' },
    { raw: '{"defualt": 3}', says: 'defualt' },
    {
      raw: '{"default": 0, "workspaces": {"prod": 0}}',
      says: 'RECOVERY_CAP: default: Too small: expected number to be >=1; workspaces.prod: Too small: expected number to be >=1',
    },
  ])('refuses $raw naming the problem', ({ raw, says }) => {
    // Act
    const parse = () => parseRecoveryCap(raw);

    // Assess
    expect(parse).toThrow(ConfigurationError);
    expect(parse).toThrow(says);
  });

  it.each([
    { raw: '{"default": 1, "workspaces": {"prod": 1000}}', workspaceId: 'prod', cap: 1000 },
    { raw: `{"workspaces": {"${'w'.repeat(64)}": 3}}`, workspaceId: 'w'.repeat(64), cap: 3 },
  ])('accepts the bounds in $raw', ({ raw, workspaceId, cap }) => {
    // Act
    const found = capOf(parseRecoveryCap(raw), workspaceId);

    // Assess
    expect(found).toBe(cap);
  });
});

describe('leaseSecondsFor', () => {
  it.each([
    { timeout: 2700, healthCheck: 900, lease: 4500 },
    { timeout: 600, healthCheck: 120, lease: 1620 },
  ])(
    'holds a slot of a recovery bounded at $timeout s with $healthCheck s health checks for $lease s',
    ({ timeout, healthCheck, lease }) => {
      // Act
      const seconds = leaseSecondsFor({ timeout_seconds: timeout, health_check_timeout: healthCheck });

      // Assess
      expect(seconds).toBe(lease);
    },
  );
});

describe('approvalRequired', () => {
  const restart = DEFAULT_PLAYBOOKS.DatabricksClusterTerminated;
  const fallback: Playbook = { ...restart, action: 'restart_with_different_instance_type' };
  const rollback: Playbook = { ...restart, action: 'rollback_config' };
  it.each<{ name: string; playbook: Parameters<typeof approvalRequired>[0]; required: boolean }>([
    { name: 'a plain restart', playbook: restart, required: false },
    {
      name: 'a plain restart an operator wants approved',
      playbook: { ...restart, approval: 'required' },
      required: true,
    },
    { name: 'a configuration rollback', playbook: rollback, required: true },
    {
      name: 'a configuration rollback with approval off',
      playbook: { ...rollback, approval: 'off' },
      required: false,
    },
    {
      name: 'a configuration rollback in shadow mode',
      playbook: { ...rollback, mode: 'shadow' },
      required: false,
    },
    {
      name: 'an approval required in shadow mode',
      playbook: { ...restart, approval: 'required', mode: 'shadow' },
      required: false,
    },
    { name: 'a node-type change with no fallback', playbook: fallback, required: false },
    {
      name: 'a node-type change with fallback node types',
      playbook: { ...fallback, fallback_node_types: ['m5.xlarge'] },
      required: true,
    },
    {
      name: 'a node-type change with fallback pools',
      playbook: { ...fallback, fallback_instance_pool_ids: ['pool-2'] },
      required: true,
    },
    {
      name: 'a node-type change that names no pools at all',
      playbook: {
        action: 'restart_with_different_instance_type',
        fallback_node_types: [],
        mode: 'active',
      },
      required: false,
    },
    {
      name: 'a node-type change with an empty list of pools',
      playbook: { ...fallback, fallback_instance_pool_ids: [] },
      required: false,
    },
    {
      name: 'a restart that lists fallback node types',
      playbook: { ...restart, fallback_node_types: ['m5.xlarge'], fallback_instance_pool_ids: ['pool-2'] },
      required: false,
    },
  ])('waits for an operator before $name: $required', ({ playbook, required }) => {
    // Act
    const waits = approvalRequired(playbook);

    // Assess
    expect(waits).toBe(required);
  });
});
