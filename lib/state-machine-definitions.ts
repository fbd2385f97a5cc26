/**
 * The state machines' definitions, as files: the CDK constructs deploy them, the local runner and the
 * tests run and read the same ones.
 */
import { fileURLToPath } from 'node:url';

/** The recovery workflow (ASL): remediate, wait, verify, close or escalate. */
export const RECOVERY_DEFINITION_PATH = fileURLToPath(
  new URL('../state-machines/recovery.asl.json', import.meta.url),
);

/** The poll workflow (ASL, JSONPath). */
export const POLL_DEFINITION_PATH = fileURLToPath(
  new URL('../state-machines/poll.asl.json', import.meta.url),
);
