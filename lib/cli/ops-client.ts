/**
 * The operations API's client for the `rca` commands: the local operator key (`--key`, for npm start)
 * or, without a key, a SigV4 signature with the default AWS credential chain (the deployed API is
 * IAM-authorized). Errors carry an exit code a script can use and say what to do.
 */
import { Sha256 } from '@aws-crypto/sha256-js';
import { fromNodeProviderChain } from '@aws-sdk/credential-providers';
import { SignatureV4 } from '@smithy/signature-v4';
import { optionalEnv } from '../../functions/shared/env.ts';

/** Exit codes of the operations commands. */
export const EXIT = {
  ok: 0,
  /** The operation was refused or a check failed (409, doctor found a problem). */
  failed: 1,
  usage: 2,
  /** 401/403: the credential was refused. */
  auth: 3,
  /** 404: no such ticket or silence. */
  notFound: 4,
  /** The API could not be reached or answered 5xx. */
  unavailable: 5,
} as const;

export class CliError extends Error {
  override readonly name = 'CliError';
  readonly exitCode: number;
  constructor(message: string, exitCode: number) {
    super(message);
    this.exitCode = exitCode;
  }
}

export interface OpsConnection {
  /** The API's base URL: the stage URL in AWS, http://localhost:8000 locally. */
  readonly url: string;
  /** The local operator key; without it requests are signed with AWS credentials. */
  readonly key?: string;
  readonly region?: string;
}

/** `--url`/`--key`/`--region`, else RCA_URL/RCA_OPERATOR_KEY/AWS_REGION. */
export function connectionFrom(values: { url?: unknown; key?: unknown; region?: unknown }): OpsConnection {
  const url = typeof values.url === 'string' ? values.url : optionalEnv('RCA_URL');
  if (url === undefined || url === '') {
    throw new CliError(
      'give the API URL with --url (the stack output IntakeApiUrl, or http://localhost:8000 for npm start) or RCA_URL',
      EXIT.usage,
    );
  }
  const key = typeof values.key === 'string' ? values.key : optionalEnv('RCA_OPERATOR_KEY');
  const region = typeof values.region === 'string' ? values.region : optionalEnv('AWS_REGION');
  return {
    url: url.replace(/\/+$/, '').replace(/\/databricks-monitor$/, ''),
    ...(key === undefined || key === '' ? {} : { key }),
    ...(region === undefined ? {} : { region }),
  };
}

export interface OpsResponse<T> {
  readonly status: number;
  readonly body: T;
}

export async function opsRequest<T = Record<string, unknown>>(
  connection: OpsConnection,
  method: 'GET' | 'POST' | 'DELETE',
  path: string,
  options: { readonly query?: Record<string, string | undefined>; readonly body?: unknown } = {},
): Promise<T> {
  const url = new URL(`${connection.url}/ops${path}`);
  for (const [name, value] of Object.entries(options.query ?? {})) {
    if (value !== undefined) url.searchParams.set(name, value);
  }
  const body = method === 'POST' ? JSON.stringify(options.body ?? {}) : undefined;
  const headers: Record<string, string> = {
    accept: 'application/json',
    ...(body === undefined ? {} : { 'content-type': 'application/json' }),
  };
  if (connection.key !== undefined) headers['x-api-key'] = connection.key;
  else Object.assign(headers, await signRequest(url, method, headers, body, connection.region));

  let res: Response;
  try {
    res = await fetch(url, {
      method,
      headers,
      ...(body === undefined ? {} : { body }),
      signal: AbortSignal.timeout(60_000),
    });
  } catch (error) {
    throw new CliError(
      `cannot reach ${connection.url} (${(error as Error).cause instanceof Error ? ((error as Error).cause as Error).message : (error as Error).message}); check --url and that the system is running`,
      EXIT.unavailable,
    );
  }
  const text = await res.text();
  let parsed: unknown;
  try {
    parsed = text === '' ? {} : JSON.parse(text);
  } catch {
    parsed = { message: text.slice(0, 200) };
  }
  if (res.ok) return parsed as T;
  const message = (parsed as { message?: unknown }).message;
  const said = typeof message === 'string' ? message : `HTTP ${res.status}`;
  if (res.status === 401 || res.status === 403) {
    throw new CliError(
      connection.key === undefined
        ? `the operations API refused the AWS credentials (${res.status} ${said}); they need execute-api:Invoke on its /ops routes (the stack's operator policy)`
        : `the operations API refused the key (${res.status}); use the operator key npm start printed (not the webhook key)`,
      EXIT.auth,
    );
  }
  if (res.status === 404) throw new CliError(said, EXIT.notFound);
  if (res.status >= 500)
    throw new CliError(`the operations API failed (${res.status}: ${said}); try again`, EXIT.unavailable);
  throw new CliError(said, EXIT.failed);
}

/** The AWS SDK's credential provider type, as the signer takes it. */
export type Credentials = ConstructorParameters<typeof SignatureV4>[0]['credentials'];

/**
 * SigV4 headers for API Gateway (`execute-api`) with the AWS SDK's own signer, from the default AWS
 * credential chain (profile, SSO, environment, instance role) unless `credentials` are given.
 */
export async function signRequest(
  url: URL,
  method: string,
  headers: Record<string, string>,
  body: string | undefined,
  regionOption: string | undefined,
  credentials: Credentials = fromNodeProviderChain(),
): Promise<Record<string, string>> {
  const region = regionOption ?? /\.execute-api\.([a-z0-9-]+)\.amazonaws\.com$/.exec(url.hostname)?.[1];
  if (region === undefined) {
    throw new CliError(
      'without --key the request is signed with AWS credentials: give --region (or AWS_REGION) for this URL',
      EXIT.usage,
    );
  }
  const signer = new SignatureV4({
    service: 'execute-api',
    region,
    credentials,
    sha256: Sha256,
  });
  const query: Record<string, string> = {};
  for (const [name, value] of url.searchParams) query[name] = value;
  try {
    const signed = await signer.sign({
      method,
      protocol: url.protocol,
      hostname: url.hostname,
      ...(url.port === '' ? {} : { port: Number(url.port) }),
      path: url.pathname,
      query,
      headers: { ...headers, host: url.host },
      ...(body === undefined ? {} : { body }),
    });
    const { host: _host, ...rest } = signed.headers as Record<string, string>;
    return rest;
  } catch (error) {
    throw new CliError(
      `no AWS credentials to sign with (${(error as Error).message}); configure a profile or pass --key for npm start`,
      EXIT.auth,
    );
  }
}
