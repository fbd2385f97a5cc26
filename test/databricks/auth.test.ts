import { randomBytes } from 'node:crypto';
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { ConfigurationError } from '../../functions/core/errors.ts';
import { parseWorkspacesConfig } from '../../functions/core/workspace.ts';
import { type AuthProvider, lazyAuth, oauthM2MAuth, patAuth } from '../../functions/databricks/auth.ts';
import {
  DatabricksCredentialsError,
  DatabricksUnauthenticatedError,
} from '../../functions/databricks/errors.ts';
import { UnknownWorkspaceError, WorkspaceClients } from '../../functions/databricks/workspaces.ts';
import type { RunningSimulator } from '../../lib/simulator/server.ts';
import { fixture, startTestSimulator } from '../simulator/support.ts';
import { clientFor, failure, VirtualClock } from './support.ts';

const CLUSTER = '0115-110000-running1';
const ARN = 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:databricks/prod-AbCdEf';

describe('OAuth machine-to-machine authentication', () => {
  let sim: RunningSimulator;
  const clientId = 'sp-recovery';
  const clientSecret = randomBytes(16).toString('hex');

  beforeEach(async () => {
    sim = await startTestSimulator({
      scenario: fixture('small-workspace.json') as object,
      oauthClients: [{ clientId, clientSecret }],
      oauthTokenTtlSeconds: 3600,
    });
  });
  afterEach(async () => {
    await sim.close();
  });

  const oauthClient = (secret = clientSecret) => {
    const clock = new VirtualClock();
    const auth = oauthM2MAuth({ host: sim.url, clientId, clientSecret: secret, clock });
    return { ...clientFor(sim, { auth, clock }), clock };
  };

  it('fetches one token and reuses it for later calls', async () => {
    // Prepare
    const { client } = oauthClient();

    // Act
    await client.getCluster(CLUSTER);
    await client.getCluster(CLUSTER);
    await client.listClusters();

    // Assess
    expect(sim.admin.stats().tokensIssued).toBe(1);
  });

  it('fetches a single token for many concurrent first calls', async () => {
    // Prepare
    const { client } = oauthClient();

    // Act
    await Promise.all(Array.from({ length: 10 }, () => client.getCluster(CLUSTER)));

    // Assess
    expect(sim.admin.stats().tokensIssued).toBe(1);
  });

  it('refreshes the token shortly before expires_in runs out', async () => {
    // Prepare
    const { client, clock } = oauthClient();
    await client.getCluster(CLUSTER);

    // Act
    clock.advance(3_600_000 - 61_000);
    await client.getCluster(CLUSTER);
    const beforeMargin = sim.admin.stats().tokensIssued;
    clock.advance(2_000);
    await client.getCluster(CLUSTER);

    // Assess
    expect(beforeMargin).toBe(1);
    expect(sim.admin.stats().tokensIssued).toBe(2);
  });

  it('fetches a new token when the server says the cached one expired', async () => {
    // Prepare
    const { client } = oauthClient();
    await client.getCluster(CLUSTER);
    sim.admin.advance(2 * 3_600_000);

    // Act
    const cluster = await client.getCluster(CLUSTER);

    // Assess
    expect(cluster.cluster_id).toBe(CLUSTER);
    expect(sim.admin.stats().tokensIssued).toBe(2);
    // Databricks answers an expired token with 403 "Invalid access token." (a recorded real answer).
    expect(sim.admin.stats().statuses[403]).toBe(1);
  });

  it('fails with DatabricksUnauthenticatedError for a wrong client secret, without echoing it', async () => {
    // Prepare
    const wrong = randomBytes(16).toString('hex');
    const { client } = oauthClient(wrong);

    // Act
    const error = await failure(client.getCluster(CLUSTER));

    // Assess
    expect(error).toBeInstanceOf(DatabricksUnauthenticatedError);
    expect(error).toMatchObject({ status: 401, errorCode: 'invalid_client' });
    expect(JSON.stringify({ ...(error as object), message: (error as Error).message })).not.toContain(wrong);
  });

  it('retries a throttled token request like any other call', async () => {
    // Prepare
    sim.admin.setFaults({ throttle: { count: 1, paths: ['/oidc/v1/token'] } });
    const { client } = oauthClient();

    // Act
    const cluster = await client.getCluster(CLUSTER);

    // Assess
    expect(cluster.cluster_id).toBe(CLUSTER);
    expect(sim.admin.stats().faultsFired.throttle).toBe(1);
  });
});

describe('invalidation after a 401', () => {
  /** An OAuth provider over a token endpoint that issues `token-1`, `token-2`, … */
  function countingOAuth() {
    let issued = 0;
    const fetch = (async () => {
      issued++;
      return new Response(JSON.stringify({ access_token: `token-${issued}`, expires_in: 3600 }), {
        status: 200,
      });
    }) as typeof globalThis.fetch;
    const auth = oauthM2MAuth({
      host: 'https://dbc-1.example.com',
      clientId: 'sp',
      clientSecret: 's',
      fetch,
    });
    return { auth, refreshes: () => issued };
  }

  /** A lazy provider whose every load reads a new personal access token (`pat-1`, `pat-2`, …). */
  function countingLazy() {
    let loads = 0;
    let release: () => void = () => undefined;
    let gate: Promise<void> | undefined;
    const auth = lazyAuth(async (): Promise<AuthProvider> => {
      loads++;
      const token = `pat-${loads}`;
      await gate;
      return patAuth(token);
    });
    return {
      auth,
      refreshes: () => loads,
      /** Holds the next loads until `open` is called. */
      hold() {
        gate = new Promise<void>((resolve) => {
          release = resolve;
        });
      },
      open: () => release(),
    };
  }

  it.each([
    ['OAuth', countingOAuth, 'Bearer token-'],
    ['a lazily read secret', countingLazy, 'Bearer pat-'],
  ] as const)(
    'refreshes %s once when several requests carrying the same credential are rejected',
    async (_name, create, prefix) => {
      // Prepare
      const { auth, refreshes } = create();
      const [first, second] = await Promise.all([auth.authorization({}), auth.authorization({})]);

      // Act
      auth.invalidate(first);
      const renewed = await auth.authorization({});
      auth.invalidate(second);
      const afterStale = await auth.authorization({});

      // Assess
      expect([first, second]).toEqual([`${prefix}1`, `${prefix}1`]);
      expect(renewed).toBe(`${prefix}2`);
      expect(afterStale).toBe(`${prefix}2`);
      expect(refreshes()).toBe(2);
    },
  );

  it('drops a credential rejected again after its refresh', async () => {
    // Prepare
    const { auth, refreshes } = countingOAuth();
    auth.invalidate(await auth.authorization({}));
    const renewed = await auth.authorization({});

    // Act
    auth.invalidate(renewed);
    const again = await auth.authorization({});

    // Assess
    expect(again).toBe('Bearer token-3');
    expect(refreshes()).toBe(3);
  });

  it('reads the secret once when 401s without the rejected header arrive while it is being re-read', async () => {
    // Prepare
    const lazy = countingLazy();
    await lazy.auth.authorization({});
    lazy.hold();

    // Act
    lazy.auth.invalidate();
    const reloading = lazy.auth.authorization({});
    lazy.auth.invalidate();
    const joining = lazy.auth.authorization({});
    lazy.open();
    const headers = await Promise.all([reloading, joining]);

    // Assess
    expect(headers).toEqual(['Bearer pat-2', 'Bearer pat-2']);
    expect(lazy.refreshes()).toBe(2);
  });
});

describe('workspace clients with credentials from Secrets Manager', () => {
  let sim: RunningSimulator;
  const secrets = mockClient(SecretsManagerClient);
  const clientId = 'sp-from-secret';
  const clientSecret = randomBytes(16).toString('hex');

  beforeAll(async () => {
    sim = await startTestSimulator({
      scenario: fixture('small-workspace.json') as object,
      oauthClients: [{ clientId, clientSecret }],
    });
  });
  afterAll(async () => {
    await sim.close();
    secrets.restore();
  });
  beforeEach(() => {
    secrets.reset();
    sim.admin.resetStats();
  });

  const workspaces = (secretArn = ARN) =>
    new WorkspaceClients({
      workspaces: [{ id: 'prod', host: sim.url, credentialsSecretArn: secretArn }],
      secrets: new SecretsManagerClient({ region: 'eu-west-1' }),
      clock: new VirtualClock(),
    });

  it.each([
    ['a personal access token', () => ({ token: sim.token }), 0],
    ['OAuth client credentials', () => ({ client_id: clientId, client_secret: clientSecret }), 1],
  ])('authenticates with %s read once from the secret', async (_name, secret, tokens) => {
    // Prepare
    secrets.on(GetSecretValueCommand, { SecretId: ARN }).resolves({ SecretString: JSON.stringify(secret()) });
    const clients = workspaces();

    // Act
    const first = await clients.get('prod').getCluster(CLUSTER);
    const second = await clients.get('prod').getCluster(CLUSTER);

    // Assess
    expect([first.cluster_id, second.cluster_id]).toEqual([CLUSTER, CLUSTER]);
    expect(secrets.commandCalls(GetSecretValueCommand)).toHaveLength(1);
    expect(sim.admin.stats().tokensIssued).toBe(tokens);
  });

  it('re-reads a rotated secret after the token is rejected (403 "Invalid access token.", as a 401)', async () => {
    // Prepare
    secrets
      .on(GetSecretValueCommand)
      .resolvesOnce({ SecretString: JSON.stringify({ token: 'dapi-revoked-token' }) })
      .resolves({ SecretString: JSON.stringify({ token: sim.token }) });
    const clients = workspaces();

    // Act
    const cluster = await clients.get('prod').getCluster(CLUSTER);

    // Assess
    expect(cluster.cluster_id).toBe(CLUSTER);
    expect(secrets.commandCalls(GetSecretValueCommand)).toHaveLength(2);
  });

  it.each([
    ['not JSON', 'token=abc123secretvalue', /is not JSON/],
    [
      'neither a token nor client credentials',
      JSON.stringify({ password: 'abc123secretvalue' }),
      /must hold/,
    ],
    ['an empty token', JSON.stringify({ token: '' }), /must hold/],
    ['a client id without its secret', JSON.stringify({ client_id: 'abc123secretvalue' }), /must hold/],
  ])('refuses a secret that is %s, without quoting it', async (_name, secretString, message) => {
    // Prepare
    secrets.on(GetSecretValueCommand).resolves({ SecretString: secretString });

    // Act
    const error = await failure(workspaces().get('prod').getCluster(CLUSTER));

    // Assess
    expect(error).toBeInstanceOf(DatabricksCredentialsError);
    expect((error as Error).message).toMatch(message);
    expect((error as Error).message).not.toContain('abc123secretvalue');
    expect((error as Error).message).toContain("workspace 'prod'");
  });

  it('reports a secret that cannot be read, naming the workspace', async () => {
    // Prepare
    const denied = Object.assign(new Error('User is not authorized'), { name: 'AccessDeniedException' });
    secrets.on(GetSecretValueCommand).rejects(denied);

    // Act
    const error = await failure(workspaces().get('prod').getCluster(CLUSTER));

    // Assess
    expect(error).toBeInstanceOf(DatabricksCredentialsError);
    expect((error as Error).message).toBe(
      "cannot read the credentials secret of workspace 'prod': AccessDeniedException",
    );
  });

  it('refuses a workspace that is not configured', () => {
    // Act
    const attempt = () => workspaces().get('staging');

    // Assess
    expect(attempt).toThrow(UnknownWorkspaceError);
  });
});

describe('workspaces configuration', () => {
  it('accepts several workspaces', () => {
    // Act
    const config = parseWorkspacesConfig([
      { id: 'prod', host: 'https://dbc-1234.cloud.databricks.com', credentialsSecretArn: ARN },
      { id: 'local', host: 'http://127.0.0.1:4100', credentialsSecretArn: 'local-secret' },
    ]);

    // Assess
    expect(config.map((w) => w.id)).toEqual(['prod', 'local']);
  });

  it.each([
    [
      'a plain-http remote host',
      [{ id: 'a', host: 'http://dbc-1.cloud.databricks.com', credentialsSecretArn: ARN }],
      '0.host',
    ],
    ['a host that is not a URL', [{ id: 'a', host: 'dbc-1', credentialsSecretArn: ARN }], '0.host'],
    [
      'an id with spaces',
      [{ id: 'my ws', host: 'https://x.cloud.databricks.com', credentialsSecretArn: ARN }],
      '0.id',
    ],
    ['a missing secret', [{ id: 'a', host: 'https://x.cloud.databricks.com' }], '0.credentialsSecretArn'],
    [
      'an unknown key',
      [{ id: 'a', host: 'https://x.cloud.databricks.com', credentialsSecretArn: ARN, token: 'x' }],
      '0',
    ],
    [
      'duplicate ids',
      [
        { id: 'a', host: 'https://x.cloud.databricks.com', credentialsSecretArn: ARN },
        { id: 'a', host: 'https://y.cloud.databricks.com', credentialsSecretArn: ARN },
      ],
      '(body)',
    ],
    ['no workspace at all', [], '(body)'],
  ])('rejects %s, naming the field', (_name, config, field) => {
    // Act
    const attempt = () => parseWorkspacesConfig(config);

    // Assess
    expect(attempt).toThrow(ConfigurationError);
    expect(attempt).toThrow(`${field}:`);
  });
});
