/**
 * How every Lambda function is bundled: the one set of esbuild options `cdk synth` (through
 * `RecoveryFunction`) and `npm run bench` use, so that the bench measures what deploys.
 *
 * esbuild runs through its JavaScript API, in a process of its own (`node lib/bundling/esbuild.ts
 * <request>`), because CDK bundles synchronously and only the asynchronous API takes plugins — which
 * the trimmed X-Ray SDK resources below need: the SDK loads them by a relative `require`, out of an
 * alias's reach.
 *
 * - One minified CommonJS file, `index.js`. CommonJS, not ESM: an ES module importing `node:http` builds
 *   the module's whole namespace, which loads undici at start-up (Powertools Tracer and the X-Ray SDK
 *   import it); `require` does not.
 * - The AWS SDK clients (`@aws-sdk/*`) are not bundled: the Node.js 24 runtime ships SDK v3, loaded from
 *   its own disk, with its own `@smithy/node-http-handler`, which each client builds from the options
 *   `functions/shared/aws.ts` gives (timeouts that fail a request in every version of it).
 * - No source map unless asked for (see `RecoveryFunctionProps.sourceMap`).
 * - The X-Ray SDK's index is replaced by `lib/bundling/xray-sdk-core.cjs`, the SDK's own modules that
 *   Powertools Tracer uses in Lambda (about 20 KB less per bundle that loads the Tracer, `semver`
 *   included, which only the SDK v2 patcher it leaves out needed); see there.
 * - The X-Ray SDK's continuation-local namespace (`cls-hooked`, with emitter-listener and shimmer) is
 *   replaced by `lib/bundling/cls-context.cjs`, the same namespace on Node's AsyncLocalStorage (about
 *   11 KB less per bundle that loads the Tracer).
 * - Its AWS SDK v3 patcher's `@smithy/service-error-classification` is `lib/bundling/xray-throttling.cjs`,
 *   the package's throttling rule, the one function the patcher calls.
 * - The X-Ray SDK's AWS call whitelist (which request and response fields a traced AWS call records,
 *   10 KB for six services) keeps the services and operations the functions call, so their subsegments record what
 *   they recorded before; its package.json keeps the name and version, all the SDK reads of it.
 * - The classifier's modules (`functions/core/classifier/`) are declared free of side effects: esbuild
 *   cannot tell that building their tables at load time touches nothing else, and kept them whole in a
 *   bundle that imports the classifier without calling it (the operations function: 34 KB, built at
 *   every cold start for nothing). A module whose exports a function uses is bundled as before.
 *
 * Measured and left as they are (the poller's bundle, 299.5 KB, November 2026): nothing is bundled that
 * the entry does not reach (0.3 KB of unused top-level declarations survive tree shaking); terser over
 * esbuild's output saves 1 % (3 KB, 4 s of CPU per bundle); one `require` per external package, where
 * esbuild writes one per importing module, would save about 1 KB; identifiers and private names are
 * already minified, and stack traces already show minified names (no source map, no `keepNames`): no
 * lever here takes anything from them; every package resolves to its ES module
 * build but the X-Ray SDK, which has none. What is left to cut is content: our own code (184 KB, the
 * classifier's 42 KB with the 11 KB of reasons its tickets quote), the X-Ray SDK (35 KB), Powertools
 * (43 KB) and zod (33 KB).
 */
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { BuildOptions, Plugin } from 'esbuild';

/** The project root, where esbuild runs and resolves `node_modules`. */
export const PROJECT_ROOT = fileURLToPath(new URL('../../', import.meta.url));

/**
 * The most a function's `index.js` may weigh: `test/infra/bundles.test.ts` fails a bundle above it,
 * `npm run bench` marks one. Issue 15's goal was 300 KB; the poller (302.8 KB) and the workflow
 * (304.2 KB) went past it with the outage fixes, the one incident plan and the workflow's own queue
 * drain (session 5), and nothing is left for the bundler to take out (see above). The ceiling is 310 KB
 * until what the functions carry is trimmed; the README says so.
 */
export const BUNDLE_BUDGET_BYTES = 310 * 1024;

/** One function's bundle: its entry (relative to the project root) and the directory that receives `index.js`. */
export interface BundleRequest {
  readonly entry: string;
  readonly outdir: string;
  readonly sourceMap: boolean;
}

/**
 * The AWS services the functions call, as the X-Ray SDK names them (the client's service id, lower
 * case). Of these, its whitelist describes DynamoDB and SNS.
 */
export const TRACED_AWS_SERVICES: readonly string[] = ['dynamodb', 'sns', 'secrets manager', 'sfn'];

/**
 * The operations of those services the functions call, as the whitelist names them: the DynamoDB
 * document client's Get, Put, Update, Delete, Query and BatchGet, and SNS's Publish
 * (`test/infra/bundling.test.ts` checks every command the functions send against this list).
 */
export const TRACED_AWS_OPERATIONS: Readonly<Record<string, readonly string[]>> = {
  dynamodb: ['getItem', 'putItem', 'updateItem', 'deleteItem', 'query', 'batchGetItem'],
  sns: ['publish'],
};

const XRAY_RESOURCE =
  /[\\/]aws-xray-sdk-core[\\/](?:dist[\\/]lib[\\/]resources[\\/]aws_whitelist|package)\.json$/;

/** Cuts the X-Ray SDK's JSON resources down to what these functions read of them (see the module comment). */
export const xrayResources: Plugin = {
  name: 'xray-resources',
  setup(build) {
    build.onLoad({ filter: XRAY_RESOURCE }, async (args) => {
      const json = JSON.parse(await readFile(args.path, 'utf8')) as Record<string, unknown>;
      return { contents: JSON.stringify(trimXrayResource(args.path, json)), loader: 'json' };
    });
  },
};

/** What of one X-Ray SDK resource file the bundles keep. */
export function trimXrayResource(path: string, json: Record<string, unknown>): Record<string, unknown> {
  if (/package\.json$/.test(path)) return { name: json.name, version: json.version };
  const services = (json.services ?? {}) as Record<string, unknown>;
  return {
    services: Object.fromEntries(
      Object.entries(services)
        .filter(([service]) => TRACED_AWS_SERVICES.includes(service))
        .map(([service, description]) => [service, tracedOperations(service, description)]),
    ),
  };
}

/** A service's whitelist entry with only the operations the functions call. */
function tracedOperations(service: string, description: unknown): unknown {
  const kept = TRACED_AWS_OPERATIONS[service];
  const entry = description as { operations?: Record<string, unknown> };
  if (kept === undefined || entry.operations === undefined) return description;
  return {
    ...entry,
    operations: Object.fromEntries(Object.entries(entry.operations).filter(([op]) => kept.includes(op))),
  };
}

const BUNDLING = join(PROJECT_ROOT, 'lib', 'bundling');

/**
 * The X-Ray SDK as Powertools Tracer uses it in Lambda: `lib/bundling/xray-sdk-core.cjs` for the SDK's
 * index, `lib/bundling/xray-mw-utils.cjs` for the HTTP middleware its Lambda environment loads.
 */
export const leanXraySdk: Plugin = {
  name: 'lean-xray-sdk',
  setup(build) {
    build.onResolve({ filter: /^aws-xray-sdk-core$/ }, () => ({
      path: join(BUNDLING, 'xray-sdk-core.cjs'),
    }));
    // Its AWS SDK v3 patcher's throttling rule alone (see xray-throttling.cjs).
    build.onResolve({ filter: /^@smithy\/service-error-classification$/ }, (args) =>
      /[\\/]aws-xray-sdk-core[\\/]/.test(args.resolveDir)
        ? { path: join(BUNDLING, 'xray-throttling.cjs') }
        : undefined,
    );
    // The namespace its current segment lives in, on AsyncLocalStorage (see cls-context.cjs).
    build.onResolve({ filter: /^cls-hooked\/context$/ }, () => ({ path: join(BUNDLING, 'cls-context.cjs') }));
    build.onResolve({ filter: /^\.\.\/middleware\/mw_utils$/ }, (args) =>
      /[\\/]aws-xray-sdk-core[\\/]dist[\\/]lib[\\/]env$/.test(args.resolveDir)
        ? { path: join(BUNDLING, 'xray-mw-utils.cjs') }
        : undefined,
    );
  },
};

/** The classifier's modules: tables and pure functions, nothing done at load time beyond their own bindings. */
const CLASSIFIER_MODULE = /[\\/]functions[\\/]core[\\/]classifier[\\/][^\\/]+\.ts$/;

/**
 * Lets esbuild leave out a classifier module none of whose exports a function uses (see the module
 * comment), as a package marked `"sideEffects": false` would be.
 */
export const sideEffectFreeClassifier: Plugin = {
  name: 'side-effect-free-classifier',
  setup(build) {
    build.onResolve({ filter: /^\.\.?\/.*\.ts$/ }, (args) => {
      const path = join(args.resolveDir, args.path);
      return CLASSIFIER_MODULE.test(path) ? { path, sideEffects: false } : undefined;
    });
  },
};

/** The esbuild options of one function's bundle. */
export function esbuildOptions(request: BundleRequest): BuildOptions {
  return {
    absWorkingDir: PROJECT_ROOT,
    entryPoints: [join(PROJECT_ROOT, request.entry)],
    outfile: join(request.outdir, 'index.js'),
    bundle: true,
    platform: 'node',
    format: 'cjs',
    target: 'node24',
    minify: true,
    // The bundled packages' license comments go to `index.js.LEGAL.txt` beside the bundle, in the asset.
    legalComments: 'linked',
    sourcemap: request.sourceMap,
    sourcesContent: false,
    // ES module builds of the dependencies tree-shake better than their CommonJS ones.
    mainFields: ['module', 'main'],
    external: ['@aws-sdk/*'],
    // `await import('@aws-sdk/…')` (a client loaded on first use, functions/shared/aws.ts) becomes a
    // `require`: Lambda's runtime SDK is found through NODE_PATH, which `import()` ignores, and
    // `require` loads the SDK's CommonJS build the other clients share, not a second, ESM copy.
    supported: { 'dynamic-import': false },
    plugins: [leanXraySdk, xrayResources, sideEffectFreeClassifier],
    logLevel: 'warning',
  };
}

/**
 * Where the bundle's metafile goes (beside `index.js`) when `BUNDLE_METAFILE` is set, as `npm run bench`
 * sets it to show what each bundle is made of; `cdk synth` writes none.
 */
export const METAFILE = 'metafile.json';

/** Bundles one function (asynchronously: esbuild's plugins need its asynchronous API). */
export async function bundle(request: BundleRequest): Promise<void> {
  const { build } = await import('esbuild');
  const metafile = process.env.BUNDLE_METAFILE !== undefined;
  const result = await build({ ...esbuildOptions(request), metafile });
  if (metafile) await writeFile(join(request.outdir, METAFILE), JSON.stringify(result.metafile));
}

if (import.meta.main) {
  const request = JSON.parse(process.argv[2] ?? '') as BundleRequest;
  bundle(request).catch((error: unknown) => {
    process.stderr.write(`bundling ${request.entry} failed: ${(error as Error).message}\n`);
    process.exitCode = 1;
  });
}
