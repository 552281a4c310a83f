// The services that have no local server: Secrets Manager's GetSecretValue from an in-memory map, and SNS
// Publish handed to a callback. Each answers in its protocol's success shape; authorization is done before.
import { randomUUID } from 'node:crypto';
import type { Json } from '../runner/synthesized.ts';
import type { ServiceError } from './responses.ts';

export interface PublishedMessage {
  /** The publishing function (handler folder name). */
  function: string;
  topicArn: string;
  subject?: string;
  message: string;
  messageStructure?: string;
  messageAttributes: Record<string, { dataType: string; stringValue?: string; binaryValue?: string }>;
}

export type BuiltinAnswer =
  | { ok: true; contentType: string; body: string }
  | { ok: false; error: ServiceError };

/** Secrets by full ARN; the version id changes with every put, as a new AWSCURRENT version would. */
export class SecretStore {
  private readonly values = new Map<string, { value: string; versionId: string; createdDate: number }>();

  constructor(initial: Record<string, string> = {}) {
    for (const [arn, value] of Object.entries(initial)) this.put(arn, value);
  }

  put(arn: string, value: string): void {
    this.values.set(arn, { value, versionId: randomUUID(), createdDate: Date.now() / 1000 });
  }

  arns(): string[] {
    return [...this.values.keys()];
  }

  /** GetSecretValue for a SecretId already resolved to the full ARN. */
  getSecretValue(arn: string): BuiltinAnswer {
    const secret = this.values.get(arn);
    if (!secret) {
      return {
        ok: false,
        error: {
          status: 400,
          code: 'ResourceNotFoundException',
          message: "Secrets Manager can't find the specified secret.",
        },
      };
    }
    const name = /:secret:(.+)-[A-Za-z0-9]{6}$/.exec(arn)?.[1] ?? arn.split(':secret:').pop() ?? arn;
    return {
      ok: true,
      contentType: 'application/x-amz-json-1.1',
      body: JSON.stringify({
        ARN: arn,
        Name: name,
        VersionId: secret.versionId,
        SecretString: secret.value,
        VersionStages: ['AWSCURRENT'],
        CreatedDate: secret.createdDate,
      }),
    };
  }
}

/** `MessageAttributes.entry.N.Name` / `.Value.DataType` / `.Value.StringValue` back into a map. */
function messageAttributes(params: Record<string, Json>): PublishedMessage['messageAttributes'] {
  const out: PublishedMessage['messageAttributes'] = {};
  for (let n = 1; params[`MessageAttributes.entry.${n}.Name`] !== undefined; n++) {
    const prefix = `MessageAttributes.entry.${n}.Value.`;
    const stringValue = params[`${prefix}StringValue`];
    const binaryValue = params[`${prefix}BinaryValue`];
    out[String(params[`MessageAttributes.entry.${n}.Name`])] = {
      dataType: String(params[`${prefix}DataType`]),
      ...(stringValue === undefined ? {} : { stringValue: String(stringValue) }),
      ...(binaryValue === undefined ? {} : { binaryValue: String(binaryValue) }),
    };
  }
  return out;
}

/** SNS Publish (awsQuery) to a topic of the template: hands the message over and answers its MessageId. */
export async function publish(
  functionName: string,
  params: Record<string, Json>,
  knownTopics: Set<string>,
  onPublish: ((message: PublishedMessage) => void | Promise<void>) | undefined,
): Promise<BuiltinAnswer> {
  const topicArn = String(params.TopicArn ?? params.TargetArn ?? '');
  if (!knownTopics.has(topicArn)) {
    return { ok: false, error: { status: 404, code: 'NotFound', message: 'Topic does not exist' } };
  }
  await onPublish?.({
    function: functionName,
    topicArn,
    ...(params.Subject === undefined ? {} : { subject: String(params.Subject) }),
    message: String(params.Message ?? ''),
    ...(params.MessageStructure === undefined ? {} : { messageStructure: String(params.MessageStructure) }),
    messageAttributes: messageAttributes(params),
  });
  const messageId = randomUUID();
  return {
    ok: true,
    contentType: 'text/xml',
    body:
      '<PublishResponse xmlns="http://sns.amazonaws.com/doc/2010-03-31/"><PublishResult>' +
      `<MessageId>${messageId}</MessageId></PublishResult><ResponseMetadata><RequestId>${randomUUID()}` +
      '</RequestId></ResponseMetadata></PublishResponse>',
  };
}
