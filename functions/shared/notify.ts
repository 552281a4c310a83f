// Outcome notifications (docs/architecture.md#flow-in-aws): every file, success or failure, ends with one
// short message on one SNS
// topic, so the team that dropped it hears back (NOTIFICATION_TOPIC_ARN; locally the runner's endpoint serves
// SNS Publish, so the same adapter runs there).
// Messages carry names, ids, counts, codes and the pipeline's own messages: no cell value, no secret.
import { PublishCommand, SNSClient } from '@aws-sdk/client-sns';
import { EXPORT_NOTE, SUPERSEDED_NOTE, successNote } from '../archive-file/archive-file.ts';
import { belowIncoming, topFolder } from './naming.ts';
import { type PipelineState, replacedOf } from './state.ts';
import { teamOf, teamsFromEnvironment } from './teams.ts';

export type Outcome = 'SUCCEEDED' | 'FAILED';

/** The structured body: what a program subscribed to the topic reads (the `default` SNS message). */
export interface OutcomeNotification {
  outcome: Outcome;
  file: string;
  execution: string;
  executionArn: string | null;
  /** The execution in the Step Functions console. */
  consoleUrl: string | null;
  /** Where this execution's reports are: `s3://bucket/reports/<execution>/`. */
  reports: string;
  audienceId: string | null;
  audienceName: string | null;
  refreshed: boolean;
  /** The audience this one replaced in its dataflows (a rollover after AEP's 10 runs), else null. */
  replaced: { audienceId: string; name: string } | null;
  rows: number | null;
  invalidRows: number | null;
  destinations: { flowId: string; status: string }[];
  /** Failure only: the pipeline code and its message. */
  code?: string;
  message?: string;
  /** Success only: what SUCCEEDED does and does not mean yet. */
  note?: string;
}

/** What is published: a subject, the text people read (e-mail), the document programs read, and filterable attributes. */
export interface NotificationMessage {
  subject: string;
  text: string;
  document: OutcomeNotification;
  /** SNS message attributes, for subscription filter policies (e.g. only `FAILED`, only `teamA/`). */
  attributes: { outcome: Outcome; folder: string };
}

export interface Notifier {
  publish(message: NotificationMessage): Promise<void>;
}

/** `arn:aws:states:<region>:…` → the console page of that execution. */
export function executionConsoleUrl(executionArn: string): string | null {
  const region = executionArn.split(':')[3];
  if (!region) return null;
  return `https://${region}.console.aws.amazon.com/states/home?region=${region}#/v2/executions/details/${executionArn}`;
}

export interface OutcomeInput {
  outcome: Outcome;
  bucket: string;
  file: string;
  execution: string;
  executionArn?: string | undefined;
  state?: Partial<PipelineState> | undefined;
  failure?: { code: string; message: string } | undefined;
}

/** Builds the message for a file's outcome from what the ending function knows. */
export function outcomeMessage(input: OutcomeInput): NotificationMessage {
  const { state } = input;
  const validation = state?.validation;
  const destinations = (state?.activation?.destinations ?? []).map((d) => ({
    flowId: d.flowId,
    status: d.status,
  }));
  const document: OutcomeNotification = {
    outcome: input.outcome,
    file: input.file,
    execution: input.execution,
    executionArn: input.executionArn ?? null,
    consoleUrl: input.executionArn ? executionConsoleUrl(input.executionArn) : null,
    reports: `s3://${input.bucket}/reports/${input.execution}/`,
    audienceId: state?.audience?.audienceId ?? null,
    audienceName: state?.audience?.name ?? validation?.audience?.name ?? null,
    refreshed: state?.audience?.refreshed ?? false,
    replaced: replacedOf(state?.audience?.replaces),
    rows: validation?.rows ?? null,
    invalidRows: validation?.invalidRows ?? null,
    destinations,
  };
  if (input.outcome === 'FAILED') {
    document.code = input.failure?.code ?? 'UNKNOWN';
    document.message = input.failure?.message ?? 'The execution failed without a message.';
  } else {
    const note = successNote(state ?? {});
    document.note =
      note === SUPERSEDED_NOTE
        ? `The audience is ingested, but ${SUPERSEDED_NOTE}.`
        : `The audience is ingested and its destinations hold it; ${EXPORT_NOTE}.`;
  }
  return {
    subject: subjectOf(document),
    text: textOf(document),
    document,
    attributes: { outcome: input.outcome, folder: topFolder(input.file) },
  };
}

/** SNS subjects: at most 100 printable ASCII characters, no line break. */
function subjectOf(n: OutcomeNotification): string {
  const name = belowIncoming(n.file);
  const head = n.outcome === 'SUCCEEDED' ? 'Audience ready' : `File failed (${n.code})`;
  const subject = `${head}: ${name}`.replace(/[^\x20-\x7e]/g, '?');
  return subject.length > 100 ? `${subject.slice(0, 99)}~` : subject;
}

function textOf(n: OutcomeNotification): string {
  const lines = [`File: ${n.file}`, `Execution: ${n.execution}`, `Outcome: ${n.outcome}`];
  if (n.outcome === 'FAILED') {
    lines.push(`Code: ${n.code}`, `Message: ${n.message}`);
  } else {
    lines.push(
      `Audience: ${n.audienceName ?? ''} (${n.audienceId ?? 'unknown id'})${n.refreshed ? ', refreshed' : ''}`,
    );
    if (n.replaced) {
      lines.push(
        `Replaces: ${n.replaced.name} (${n.replaced.audienceId}), which has had AEP's 10 ingestion runs, in its dataflows`,
      );
    }
  }
  if (n.rows !== null) lines.push(`Rows: ${n.rows}, of which invalid: ${n.invalidRows ?? 0}`);
  for (const d of n.destinations) lines.push(`Destination ${d.flowId}: ${d.status}`);
  if (n.note) lines.push(n.note);
  lines.push(`Reports: ${n.reports}`);
  if (n.consoleUrl) lines.push(`Execution in the console: ${n.consoleUrl}`);
  return `${lines.join('\n')}\n`;
}

let snsClient: SNSClient | undefined;

/** One SNS client per container, built on first use. */
function sharedSnsClient(): SNSClient {
  snsClient ??= new SNSClient({});
  return snsClient;
}

/** SNS: JSON for programs (`default`), the text for e-mail, attributes for filter policies. */
export class SnsNotifier implements Notifier {
  constructor(
    private readonly topicArn: string,
    private readonly sns: Pick<SNSClient, 'send'> = sharedSnsClient(),
  ) {}

  async publish(message: NotificationMessage): Promise<void> {
    await publishToTopic(this.sns, this.topicArn, {
      subject: message.subject,
      text: message.text,
      document: message.document,
      outcome: message.attributes.outcome,
      folder: message.attributes.folder,
    });
  }
}

/**
 * One message as the pipeline's topics carry them (outcomes and expiry notices alike): JSON for programs
 * (`default`), the text for e-mail, and the `outcome` and `folder` attributes teams filter on.
 */
export async function publishToTopic(
  sns: Pick<SNSClient, 'send'>,
  topicArn: string,
  message: { subject: string; text: string; document: unknown; outcome: string; folder: string },
): Promise<void> {
  await sns.send(
    new PublishCommand({
      TopicArn: topicArn,
      Subject: message.subject,
      MessageStructure: 'json',
      Message: JSON.stringify({ default: JSON.stringify(message.document), email: message.text }),
      MessageAttributes: {
        outcome: { DataType: 'String', StringValue: message.outcome },
        // SNS refuses an empty string value: a file at the top of incoming/ has folder "-".
        folder: { DataType: 'String', StringValue: message.folder || '-' },
      },
    }),
  );
}

/** Publishes nowhere: a function deployed without a topic (never in this stack) still does its work. */
export class NoNotifier implements Notifier {
  async publish(): Promise<void> {}
}

/**
 * Each file's outcome on its team's topic when the team has one (`pipeline.teams.<team>.notifications`), on the
 * stack's otherwise.
 */
export class TeamRoutingNotifier implements Notifier {
  constructor(
    private readonly stackNotifier: Notifier,
    private readonly teamTopic: (file: string) => string | undefined,
    private readonly notifierFor: (topicArn: string) => Notifier = (arn) => new SnsNotifier(arn),
  ) {}

  async publish(message: NotificationMessage): Promise<void> {
    const topicArn = this.teamTopic(message.document.file);
    await (topicArn ? this.notifierFor(topicArn) : this.stackNotifier).publish(message);
  }
}

/**
 * The notifier the environment asks for: the topic (a team's own, PIPELINE_TEAMS, for its files), else none.
 * Cheap: handlers ask per invocation.
 */
export function notifierFromEnvironment(env: NodeJS.ProcessEnv = process.env): Notifier {
  const topicArn = env.NOTIFICATION_TOPIC_ARN?.trim();
  if (topicArn) {
    const teams = teamsFromEnvironment(env);
    if (Object.keys(teams.teams).length === 0) return new SnsNotifier(topicArn);
    return new TeamRoutingNotifier(new SnsNotifier(topicArn), (file) => {
      const team = teamOf(file, { ...teams, unknownTeams: 'defaults' });
      return team.kind === 'team' ? team.settings.topicArn : undefined;
    });
  }
  return new NoNotifier();
}
