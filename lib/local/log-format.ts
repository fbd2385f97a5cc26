import { LogFormatter, LogItem } from '@aws-lambda-powertools/logger';
import type { LogAttributes, UnformattedAttributes } from '@aws-lambda-powertools/logger/types';

/**
 * Local mode's log lines: the same structured logs as in Lambda, without the Lambda context that
 * means nothing on a laptop, so that a recovery reads as detected → playbook → executing → healthy
 * → closed in the console.
 */
export class LocalLogFormatter extends LogFormatter {
  formatAttributes(attributes: UnformattedAttributes, additionalLogAttributes: LogAttributes): LogItem {
    return new LogItem({
      attributes: {
        time: attributes.timestamp.toISOString().slice(11, 23),
        level: attributes.logLevel,
        message: attributes.message,
      },
    }).addAttributes(additionalLogAttributes);
  }
}
