// Outcome notifications: what a team reads when its file ends, and what the SNS adapter sends.
import { PublishCommand, SNSClient } from '@aws-sdk/client-sns';
import { mockClient } from 'aws-sdk-client-mock';
import { describe, expect, it } from 'vitest';
import { executionConsoleUrl, outcomeMessage, SnsNotifier } from '../../functions/shared/notify.ts';
import { SnsNoticePublisher } from '../../functions/shared/upkeep.ts';

const ARN = 'arn:aws:states:eu-west-1:123456789012:execution:AepAudiencePipeline:spring-churn-1a2b3c4d';
const base = {
  bucket: 'drop-bucket',
  file: 'incoming/teamA/spring-churn.csv',
  execution: 'spring-churn-1a2b3c4d',
  executionArn: ARN,
};

describe('outcomeMessage', () => {
  it('on success: audience, counts, destinations, the export note, reports and the console link', () => {
    const message = outcomeMessage({
      ...base,
      outcome: 'SUCCEEDED',
      state: {
        audience: { audienceId: 'aud-1', name: 'teamA/spring-churn', refreshed: true },
        validation: { rows: 3000, invalidRows: 2 },
        activation: { destinations: [{ flowId: 'flow-1', status: 'ADDED' }] },
      } as never,
    });
    expect(message.subject).toBe('Audience ready: teamA/spring-churn.csv');
    expect(message.attributes).toEqual({ outcome: 'SUCCEEDED', folder: 'teamA' });
    expect(message.document).toMatchObject({
      audienceId: 'aud-1',
      refreshed: true,
      rows: 3000,
      invalidRows: 2,
      reports: 's3://drop-bucket/reports/spring-churn-1a2b3c4d/',
      consoleUrl: `https://eu-west-1.console.aws.amazon.com/states/home?region=eu-west-1#/v2/executions/details/${ARN}`,
    });
    expect(message.text).toContain('Destination flow-1: ADDED');
    expect(message.text).toContain("AEP's daily segmentation job");
    expect(message.document.code).toBeUndefined();
  });

  it('after a rollover: names the audience replaced; a superseded file says its rows reach no destination', () => {
    const rolled = outcomeMessage({
      ...base,
      outcome: 'SUCCEEDED',
      state: {
        audience: {
          audienceId: 'aud-2',
          name: 'teamA/spring-churn #2',
          refreshed: false,
          replaces: [{ registryKey: 'teama/spring-churn', audienceId: 'aud-1', name: 'teamA/spring-churn' }],
        },
        activation: { destinations: [{ flowId: 'flow-1', status: 'REPLACED' }] },
      } as never,
    });
    expect(rolled.document.replaced).toEqual({ audienceId: 'aud-1', name: 'teamA/spring-churn' });
    expect(rolled.text).toContain(
      "Replaces: teamA/spring-churn (aud-1), which has had AEP's 10 ingestion runs",
    );
    expect(rolled.text).toContain("AEP's daily segmentation job");

    const late = outcomeMessage({
      ...base,
      outcome: 'SUCCEEDED',
      state: {
        audience: { audienceId: 'aud-1', name: 'teamA/spring-churn', refreshed: true },
        activation: { destinations: [{ flowId: 'flow-1', status: 'SUPERSEDED' }] },
      } as never,
    });
    expect(late.document.replaced).toBeNull();
    expect(late.text).toContain("this file's rows reach no destination; upload the file again");
    expect(late.text).not.toContain('its destinations hold it');
  });

  it('on failure: the pipeline code and message, no export note', () => {
    const message = outcomeMessage({
      ...base,
      outcome: 'FAILED',
      failure: { code: 'VALIDATION_FAILED', message: '12 of 40 rows are invalid' },
    });
    expect(message.subject).toBe('File failed (VALIDATION_FAILED): teamA/spring-churn.csv');
    expect(message.document).toMatchObject({ code: 'VALIDATION_FAILED', audienceId: null, rows: null });
    expect(message.text).toContain('Message: 12 of 40 rows are invalid');
    expect(message.document.note).toBeUndefined();
  });

  it('keeps SNS subjects to 100 printable ASCII characters', () => {
    const message = outcomeMessage({
      ...base,
      file: `incoming/équipe/${'x'.repeat(150)}.csv`,
      outcome: 'FAILED',
    });
    expect(message.subject.length).toBeLessThanOrEqual(100);
    expect(message.subject).toMatch(/^[\x20-\x7e]+$/);
  });

  it('has no console link without a region in the ARN', () => {
    expect(executionConsoleUrl('not-an-arn')).toBeNull();
  });
});

describe('SnsNotifier', () => {
  it('publishes JSON for programs, text for e-mail and filterable attributes', async () => {
    const sns = mockClient(SNSClient);
    sns.on(PublishCommand).resolves({ MessageId: 'm-1' });
    const message = outcomeMessage({ ...base, file: 'incoming/top.csv', outcome: 'FAILED' });
    await new SnsNotifier('arn:aws:sns:eu-west-1:123456789012:outcomes', new SNSClient({})).publish(message);
    const [call] = sns.commandCalls(PublishCommand);
    const input = call!.args[0].input;
    expect(input.TopicArn).toBe('arn:aws:sns:eu-west-1:123456789012:outcomes');
    expect(input.MessageStructure).toBe('json');
    const body = JSON.parse(input.Message!);
    expect(JSON.parse(body.default)).toEqual(message.document);
    expect(body.email).toBe(message.text);
    // SNS refuses empty attribute values: a file at the top of incoming/ is in folder "-".
    expect(input.MessageAttributes?.folder?.StringValue).toBe('-');
    expect(input.MessageAttributes?.outcome?.StringValue).toBe('FAILED');
    sns.restore();
  });
});

describe('SnsNoticePublisher (expiry notices)', () => {
  const notice = (team: string | null) => ({
    subject: 'Audience expiring: churn',
    text: 'Audience "churn" expires soon\n',
    document: {
      notice: 'AUDIENCE_EXPIRING' as const,
      audienceName: 'churn',
      audienceId: 'aud-1',
      team,
      sandbox: null,
      expiresAt: '2026-12-08T00:00:00.000Z',
      lastRunAt: null,
      message: 'expires soon',
    },
  });

  it("goes as outcomes do: a team's audience on its team's topic, the others on the stack's, same shape", async () => {
    const sns = mockClient(SNSClient);
    sns.on(PublishCommand).resolves({ MessageId: 'm-1' });
    const stack = 'arn:aws:sns:eu-west-1:123456789012:outcomes';
    const brandA = 'arn:aws:sns:eu-west-1:123456789012:brand-a';
    const publisher = new SnsNoticePublisher(new SNSClient({}), stack, (team) =>
      team === 'brandA' ? brandA : undefined,
    );
    await publisher.publish(notice('brandA'));
    await publisher.publish(notice('brandB'));
    await publisher.publish(notice(null));
    const inputs = sns.commandCalls(PublishCommand).map((c) => c.args[0].input);
    expect(inputs.map((i) => i.TopicArn)).toEqual([brandA, stack, stack]);
    expect(inputs.map((i) => i.MessageAttributes?.folder?.StringValue)).toEqual(['brandA', 'brandB', '-']);
    expect(inputs.every((i) => i.MessageAttributes?.outcome?.StringValue === 'EXPIRING')).toBe(true);
    expect(JSON.parse(JSON.parse(inputs[0]!.Message!).default)).toEqual(notice('brandA').document);
    sns.restore();
  });
});
