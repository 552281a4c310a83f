// What the upkeep functions (KeepAlive, DeleteAudience) share: the staged copy's retention tag, the expiry
// notice on the outcome topic, and the configuration they read from their environment.

import { PutObjectTaggingCommand, type S3Client } from '@aws-sdk/client-s3';
import type { SNSClient } from '@aws-sdk/client-sns';
import { publishToTopic } from './notify.ts';
import type { RegistryItem } from './registry.ts';

/**
 * The tag every staged copy carries (validate-file writes it) and the drop bucket's staging lifecycle rule
 * selects on: `staging` copies expire after `stagingRetentionDays`; KeepAlive retags the copy a kept-alive
 * audience's last successful run ingested `keep-alive`, which no rule expires, and back when it no longer is.
 */
export const RETENTION_TAG = 'aep-retention';
export const RETENTION_STAGING = 'staging';
export const RETENTION_KEEP = 'keep-alive';

/** The `x-amz-tagging` header (URL query form) of a new staged copy. */
export const STAGING_TAGGING = `${RETENTION_TAG}=${RETENTION_STAGING}`;

export interface StagedRetention {
  /** Keep `key` as long as its audience is kept alive. */
  keep(key: string): Promise<void>;
  /** Let `key` expire with the other staged copies. */
  release(key: string): Promise<void>;
}

/** PutObjectTagging on the current version (s3:PutObjectTagging under staging/). */
export class S3StagedRetention implements StagedRetention {
  constructor(
    private readonly s3: Pick<S3Client, 'send'>,
    private readonly bucket: string,
  ) {}

  keep(key: string): Promise<void> {
    return this.tag(key, RETENTION_KEEP);
  }

  release(key: string): Promise<void> {
    return this.tag(key, RETENTION_STAGING);
  }

  private async tag(key: string, value: string): Promise<void> {
    await this.s3.send(
      new PutObjectTaggingCommand({
        Bucket: this.bucket,
        Key: key,
        Tagging: { TagSet: [{ Key: RETENTION_TAG, Value: value }] },
      }),
    );
  }
}

/** The document of an expiry notice, the `default` SNS message programs read. */
export interface ExpiryNoticeDocument {
  notice: 'AUDIENCE_EXPIRING';
  audienceName: string;
  audienceId: string;
  team: string | null;
  sandbox: string | null;
  /** ISO 8601. */
  expiresAt: string;
  lastRunAt: string | null;
  message: string;
}

export interface ExpiryNotice {
  subject: string;
  text: string;
  document: ExpiryNoticeDocument;
}

export function expiryNotice(item: RegistryItem, expiresAt: string, nowMs: number): ExpiryNotice {
  const days = Math.max(0, Math.round((Date.parse(expiresAt) - nowMs) / 86_400_000));
  const name = item.audienceName;
  const message =
    `Audience "${name}" expires on ${expiresAt.slice(0, 10)} (in about ${days} day(s)) and is not kept alive: ` +
    'upload its file again to refresh it, or set "keepAlive": true in its manifest so that the pipeline extends it.';
  const subject = `Audience expiring: ${name}`.replace(/[^\x20-\x7e]/g, '?');
  return {
    subject: subject.length > 100 ? `${subject.slice(0, 99)}~` : subject,
    text: `${message}\nAudience id: ${item.audienceId ?? ''}\n`,
    document: {
      notice: 'AUDIENCE_EXPIRING',
      audienceName: name,
      audienceId: item.audienceId ?? '',
      team: item.team ?? null,
      sandbox: item.sandbox ?? null,
      expiresAt,
      lastRunAt: item.lastRunAt ?? null,
      message,
    },
  };
}

export interface NoticePublisher {
  publish(notice: ExpiryNotice): Promise<void>;
}

/**
 * The outcome topic (a team's own for its audiences, as for its files' outcomes), with the attributes the
 * outcome messages carry (`outcome` = `EXPIRING` here), so that a team's filter policy on its folder hears of
 * its own audiences.
 */
export class SnsNoticePublisher implements NoticePublisher {
  constructor(
    private readonly sns: Pick<SNSClient, 'send'>,
    private readonly topicArn: string,
    private readonly teamTopic: (team: string) => string | undefined = () => undefined,
  ) {}

  async publish(notice: ExpiryNotice): Promise<void> {
    const team = notice.document.team;
    await publishToTopic(this.sns, (team && this.teamTopic(team)) || this.topicArn, {
      subject: notice.subject,
      text: notice.text,
      document: notice.document,
      outcome: 'EXPIRING',
      folder: team ?? '',
    });
  }
}
