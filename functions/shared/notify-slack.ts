/**
 * Slack delivery through an incoming webhook. The webhook URL is a credential: it lives in Secrets
 * Manager (the secret string is the URL, or `{"webhookUrl": "…"}`), is read lazily, cached for a few
 * minutes so a rotated URL is picked up, and never logged.
 */
import { GetSecretValueCommand } from '@aws-sdk/client-secrets-manager';
import { ConfigurationError } from '../core/errors.ts';
import type { SecretsReader } from '../databricks/workspaces.ts';
import { type Notifier, type RecoveryNotification, subjectOf, textOf } from './notify.ts';

export interface SlackNotifierOptions {
  /** ARN of the secret holding the webhook URL. */
  readonly secretArn: string;
  readonly secrets: SecretsReader;
  /** @default globalThis.fetch */
  readonly fetch?: typeof fetch;
  /** @default 300_000 */
  readonly cacheMs?: number;
  /** @default 10_000 */
  readonly timeoutMs?: number;
  /** @default Date.now */
  readonly clock?: () => number;
}

/** Slack answered with something other than 2xx; the message says the status, never the URL. */
export class SlackDeliveryError extends Error {
  override readonly name = 'SlackDeliveryError';
}

const EMOJI: Readonly<Record<RecoveryNotification['outcome'], string>> = {
  recovered: ':white_check_mark:',
  escalated: ':rotating_light:',
  shadow: ':ghost:',
  resolved: ':information_source:',
  awaiting_approval: ':raising_hand:',
  outage: ':cloud_with_lightning:',
};

/** Accepts https URLs, and plain http only on the loopback interface (tests, local mode). */
export function parseWebhookUrl(secretString: string | undefined): URL {
  const raw = secretString?.trim() ?? '';
  let candidate = raw;
  if (raw.startsWith('{')) {
    try {
      const parsed = JSON.parse(raw) as { webhookUrl?: unknown };
      candidate = typeof parsed.webhookUrl === 'string' ? parsed.webhookUrl : '';
    } catch {
      candidate = '';
    }
  }
  let url: URL;
  try {
    url = new URL(candidate);
  } catch {
    throw new ConfigurationError(
      'the Slack webhook secret must hold the webhook URL, or JSON {"webhookUrl": "https://hooks.slack.com/…"}',
    );
  }
  const loopback = ['127.0.0.1', 'localhost', '[::1]'].includes(url.hostname);
  if (url.protocol !== 'https:' && !(url.protocol === 'http:' && loopback)) {
    throw new ConfigurationError('the Slack webhook URL must use https');
  }
  return url;
}

/** The Slack message: a fallback text plus a section block with the same facts. */
export function slackPayload(message: RecoveryNotification): Record<string, unknown> {
  const headline = `${EMOJI[message.outcome]} ${subjectOf(message)}`;
  const body = textOf(message);
  return {
    text: headline,
    blocks: [
      { type: 'section', text: { type: 'mrkdwn', text: `*${escapeSlack(headline)}*` } },
      { type: 'section', text: { type: 'mrkdwn', text: escapeSlack(body) } },
    ],
  };
}

function escapeSlack(text: string): string {
  return text.replaceAll('&', '&amp;').replaceAll('<', '&lt;').replaceAll('>', '&gt;');
}

export class SlackNotifier implements Notifier {
  readonly #options: SlackNotifierOptions;
  #cached: { url: URL; until: number } | undefined;

  constructor(options: SlackNotifierOptions) {
    this.#options = options;
  }

  async notify(message: RecoveryNotification): Promise<void> {
    const url = await this.#url();
    const doFetch = this.#options.fetch ?? globalThis.fetch;
    const response = await doFetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(slackPayload(message)),
      signal: AbortSignal.timeout(this.#options.timeoutMs ?? 10_000),
      redirect: 'error',
    });
    await response.text().catch(() => '');
    if (!response.ok) {
      if (response.status === 403 || response.status === 404 || response.status === 410)
        this.#cached = undefined;
      throw new SlackDeliveryError(`Slack answered ${response.status} to the webhook post`);
    }
  }

  async #url(): Promise<URL> {
    const now = (this.#options.clock ?? Date.now)();
    if (this.#cached !== undefined && this.#cached.until > now) return this.#cached.url;
    const answer = await this.#options.secrets.send(
      new GetSecretValueCommand({ SecretId: this.#options.secretArn }),
    );
    const url = parseWebhookUrl(answer.SecretString);
    this.#cached = { url, until: now + (this.#options.cacheMs ?? 300_000) };
    return url;
  }
}
