/** JSON output helpers: int64 ids are written as exact JSON numbers, as Databricks does. */

interface RawJsonApi {
  readonly rawJSON: (text: string) => unknown;
}

/** A JSON number with exactly these digits, even beyond Number.MAX_SAFE_INTEGER (Node 21+). */
export function rawNumber(digits: string): unknown {
  if (!/^-?\d+$/.test(digits)) throw new TypeError('rawNumber needs an integer in decimal digits');
  return (JSON as unknown as RawJsonApi).rawJSON(digits);
}

/** An id kept as a string internally, written as a JSON number when it is all digits. */
export function idValue(id: string): unknown {
  return /^\d{1,19}$/.test(id) ? rawNumber(id) : id;
}
