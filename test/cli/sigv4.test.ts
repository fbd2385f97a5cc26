import { randomBytes } from 'node:crypto';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Sha256 } from '@aws-crypto/sha256-js';
import { SignatureV4 } from '@smithy/signature-v4';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { opsRequest } from '../../lib/cli/ops-client.ts';

interface Received {
  readonly method: string;
  readonly path: string;
  readonly query: Record<string, string>;
  readonly headers: IncomingHttpHeaders;
  readonly body: string;
}

const REGION = 'eu-west-1';
/** Generated for the run: the signature is checked, never sent to AWS. */
const credentials = {
  accessKeyId: `AKIA${randomBytes(8).toString('hex').toUpperCase()}`,
  secretAccessKey: randomBytes(30).toString('base64'),
};

/**
 * Recomputes the signature of a received request with the AWS SDK's signer, over exactly the headers
 * the request says it signed, at the time it says it was signed, and over the body it carries: what API
 * Gateway does with IAM authorization.
 */
async function expectedSignature(request: Received, secretAccessKey: string): Promise<string> {
  const authorization = String(request.headers.authorization);
  const signedHeaders = /SignedHeaders=([^,]+)/.exec(authorization)?.[1]?.split(';') ?? [];
  const amzDate = String(request.headers['x-amz-date']);
  const signingDate = new Date(
    `${amzDate.slice(0, 4)}-${amzDate.slice(4, 6)}-${amzDate.slice(6, 8)}T${amzDate.slice(9, 11)}:${amzDate.slice(11, 13)}:${amzDate.slice(13, 15)}Z`,
  );
  // The payload hash header is left out: the signer computes it again from the body received.
  const headers = Object.fromEntries(
    signedHeaders
      .filter((name) => name !== 'x-amz-content-sha256')
      .map((name) => [name, String(request.headers[name])]),
  );
  const signer = new SignatureV4({
    service: 'execute-api',
    region: REGION,
    credentials: { accessKeyId: credentials.accessKeyId, secretAccessKey },
    sha256: Sha256,
  });
  const [hostname, port] = String(request.headers.host).split(':');
  const signed = await signer.sign(
    {
      method: request.method,
      protocol: 'http:',
      hostname: hostname ?? '',
      ...(port === undefined ? {} : { port: Number(port) }),
      path: request.path,
      query: request.query,
      headers,
      ...(request.body === '' ? {} : { body: request.body }),
    },
    { signingDate },
  );
  return /Signature=([0-9a-f]+)/.exec(String(signed.headers.authorization))?.[1] ?? '';
}

describe('rca without --key: SigV4 for API Gateway (execute-api) with the AWS SDK signer and the default chain', () => {
  let server: Server;
  let url: string;
  const received: Received[] = [];
  const saved: Record<string, string | undefined> = {};
  const env = {
    AWS_ACCESS_KEY_ID: credentials.accessKeyId,
    AWS_SECRET_ACCESS_KEY: credentials.secretAccessKey,
    AWS_SESSION_TOKEN: undefined,
    AWS_PROFILE: undefined,
  };
  beforeAll(async () => {
    for (const [name, value] of Object.entries(env)) {
      saved[name] = process.env[name];
      if (value === undefined) delete process.env[name];
      else process.env[name] = value;
    }
    server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const parsed = new URL(req.url ?? '/', 'http://localhost');
        received.push({
          method: req.method ?? '',
          path: parsed.pathname,
          query: Object.fromEntries(parsed.searchParams),
          headers: req.headers,
          body: Buffer.concat(chunks).toString(),
        });
        res.writeHead(200, { 'content-type': 'application/json' }).end('{"ok":true}');
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/prod`;
  });
  afterAll(async () => {
    for (const [name, value] of Object.entries(saved)) {
      if (value === undefined) delete process.env[name];
      else process.env[name] = value;
    }
    await new Promise((resolve) => server.close(resolve));
  });

  it.each([
    {
      method: 'GET' as const,
      path: '/tickets',
      query: { status: 'silenced', since: '24h' },
      body: undefined,
    },
    {
      method: 'POST' as const,
      path: '/silences',
      query: {},
      body: { cluster_id: 'c1', for_seconds: 3600, reason: 'x y z' },
    },
    { method: 'DELETE' as const, path: '/silences/SIL-0123456789ab', query: {}, body: undefined },
  ])('signs $method $path so that the same signer verifies it', async ({ method, path, query, body }) => {
    // Prepare
    received.length = 0;

    // Act
    await opsRequest({ url, region: REGION }, method, path, { query, body });
    const [request] = received;
    if (request === undefined) throw new Error('the server received nothing');
    const expected = await expectedSignature(request, credentials.secretAccessKey);
    const forged = await expectedSignature(
      { ...request, body: `${request.body} ` },
      credentials.secretAccessKey,
    );
    const otherKey = await expectedSignature(request, randomBytes(30).toString('base64'));

    // Assess
    const authorization = String(request.headers.authorization);
    expect(authorization).toMatch(
      new RegExp(
        `^AWS4-HMAC-SHA256 Credential=${credentials.accessKeyId}/\\d{8}/${REGION}/execute-api/aws4_request, SignedHeaders=[a-z0-9;-]*host[a-z0-9;-]*, Signature=[0-9a-f]{64}$`,
      ),
    );
    expect(authorization).toContain('x-amz-date');
    expect(request.headers['x-api-key']).toBeUndefined();
    expect(request.path).toBe(`/prod/ops${path}`);
    expect(authorization.endsWith(`Signature=${expected}`)).toBe(true);
    expect(forged).not.toBe(expected);
    expect(otherKey).not.toBe(expected);
  });

  it('says what to do when no region can be told from the URL', async () => {
    // Act
    const attempt = opsRequest({ url }, 'GET', '/tickets');

    // Assess
    await expect(attempt).rejects.toMatchObject({
      exitCode: 2,
      message: expect.stringContaining('--region'),
    });
  });
});
