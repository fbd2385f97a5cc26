/**
 * JSON parsing that never silently corrupts int64 ids.
 *
 * Databricks sends some int64 fields (`spark_context_id`, occasionally run ids) as JSON numbers that
 * exceed Number.MAX_SAFE_INTEGER. `JSON.parse` would round them. Node 22+ gives revivers the source
 * text of each primitive, so an integer outside the safe range is kept as its exact decimal string.
 */

interface ReviverContext {
  readonly source?: string;
}

type Reviver = (this: unknown, key: string, value: unknown, context?: ReviverContext) => unknown;

const keepUnsafeIntegersAsStrings: Reviver = (_key, value, context) => {
  if (typeof value === 'number' && !Number.isSafeInteger(value) && context?.source !== undefined) {
    const source = context.source;
    if (/^-?\d+$/.test(source)) return source;
  }
  return value;
};

export class JsonSyntaxError extends Error {
  override readonly name = 'JsonSyntaxError';
}

export class JsonDepthError extends Error {
  override readonly name = 'JsonDepthError';
}

/** Maximum nesting of objects and arrays accepted from the outside world. */
export const MAX_JSON_DEPTH = 32;

/**
 * Parses untrusted JSON text: rejects nesting deeper than `maxDepth` before parsing (so a hostile
 * body cannot exhaust the stack) and keeps unsafe integers exact.
 */
export function parseJson(text: string, maxDepth: number = MAX_JSON_DEPTH): unknown {
  const depth = measureDepth(text);
  if (depth > maxDepth) {
    throw new JsonDepthError(`JSON is nested ${depth} levels deep; at most ${maxDepth} are accepted`);
  }
  try {
    return JSON.parse(text, keepUnsafeIntegersAsStrings as Parameters<typeof JSON.parse>[1]);
  } catch (error) {
    throw new JsonSyntaxError(`body is not valid JSON: ${(error as Error).message}`);
  }
}

/** Nesting depth of brackets outside strings; a cheap pre-check that never recurses. */
function measureDepth(text: string): number {
  let depth = 0;
  let max = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text.charCodeAt(i);
    if (inString) {
      if (ch === 0x5c) i++;
      else if (ch === 0x22) inString = false;
    } else if (ch === 0x22) inString = true;
    else if (ch === 0x7b || ch === 0x5b) {
      depth++;
      if (depth > max) max = depth;
    } else if (ch === 0x7d || ch === 0x5d) depth--;
  }
  return max;
}

// An integer of 16 digits or more may lie beyond Number.MAX_SAFE_INTEGER (9007199254740991, 16
// digits); one of 15 never does. Strings are matched first so that digits inside them are skipped.
const STRING_OR_LONG_INTEGER = /"(?:[^"\\]|\\.)*"|(?<![\w.+-])(-?\d{16,})(?![\w.])/g;
const LONG_INTEGER = /\d{16}/;

/**
 * Parses a JSON answer from a Databricks workspace cheaply: the plain `JSON.parse`, lossless only where
 * a number of 16 or more digits appears (`spark_context_id` on every cluster, some run ids). Such a
 * number beyond Number.MAX_SAFE_INTEGER is quoted before parsing, so it arrives as its exact decimal
 * string, as with {@link parseJson} — without a reviver visiting every value. No depth scan either:
 * V8's parser does not recurse, and the answers are read by schemas of bounded depth.
 */
export function parseResponseJson(text: string): unknown {
  const lossless = LONG_INTEGER.test(text)
    ? text.replace(STRING_OR_LONG_INTEGER, (match: string, digits: string | undefined) =>
        digits === undefined || Number.isSafeInteger(Number(digits)) ? match : `"${digits}"`,
      )
    : text;
  try {
    return JSON.parse(lossless);
  } catch (error) {
    throw new JsonSyntaxError(`body is not valid JSON: ${(error as Error).message}`);
  }
}

/** Removes undefined values, which DynamoDB cannot store, without depending on the client's marshall options. */
export function compact<T extends object>(value: T): T {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as T;
}
