// The outcome topic's local subscriber: each SNS Publish the functions make, kept as one JSON line per message,
// read back per execution, and said on the progress line once.
import { appendFileSync, existsSync, readFileSync } from 'node:fs';
import type { NotificationMessage } from '../../functions/shared/notify.ts';
import type { PublishedMessage } from '../iam/gateway.ts';
import { notifiedLine } from './progress.ts';

export class NotificationLog {
  /** How many of each execution's notifications the progress line has shown. */
  private readonly shown = new Map<string, number>();

  constructor(
    /** Where the notifications land (JSON lines of NotificationMessage). */
    readonly file: string,
    private readonly progress: ((line: string) => void) | undefined,
  ) {}

  /** An allowed Publish to the topic, as a subscriber of the topic receives it. */
  published(message: PublishedMessage): void {
    const body = JSON.parse(message.message) as { default?: string; email?: string };
    const attribute = (name: string) => message.messageAttributes[name]?.stringValue ?? '';
    // The topic too: a team with its own topic hears there (pipeline.teams.<team>.notifications).
    const record: NotificationMessage & { topicArn: string } = {
      topicArn: message.topicArn,
      subject: message.subject ?? '',
      text: body.email ?? '',
      document: JSON.parse(body.default ?? '{}'),
      attributes: {
        outcome: attribute('outcome') as NotificationMessage['attributes']['outcome'],
        folder: attribute('folder') === '-' ? '' : attribute('folder'),
      },
    };
    appendFileSync(this.file, `${JSON.stringify(record)}\n`);
  }

  /** The notifications published for an execution so far. */
  forExecution(executionName: string): NotificationMessage[] {
    if (!existsSync(this.file)) return [];
    return readFileSync(this.file, 'utf8')
      .split('\n')
      .filter((line) => line.trim() !== '')
      .map((line) => JSON.parse(line) as NotificationMessage)
      .filter((message) => message.document.execution === executionName);
  }

  /** Progress lines for the notifications of an execution not shown yet. */
  showNew(executionName: string): void {
    const progress = this.progress;
    if (!progress) return;
    const messages = this.forExecution(executionName);
    const shown = this.shown.get(executionName) ?? 0;
    for (const message of messages.slice(shown)) progress(notifiedLine(executionName, this.file, message));
    this.shown.set(executionName, messages.length);
  }
}
