/** The simulator's API errors, which the server answers as Databricks' `{error_code, message}` bodies. */
/** A Databricks API error the server turns into `{error_code, message}` with this status. */
export class SimApiError extends Error {
  override readonly name = 'SimApiError';
  readonly status: number;
  readonly errorCode: string;
  /** Sent as `Retry-After` (a throttled call). */
  readonly retryAfterSeconds: number | undefined;
  constructor(status: number, errorCode: string, message: string, retryAfterSeconds?: number) {
    super(message);
    this.status = status;
    this.errorCode = errorCode;
    this.retryAfterSeconds = retryAfterSeconds;
  }
}

export const invalidParameter = (message: string): SimApiError =>
  new SimApiError(400, 'INVALID_PARAMETER_VALUE', message);
