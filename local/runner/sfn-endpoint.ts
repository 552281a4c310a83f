// The Step Functions API on loopback (JSON 1.0 protocol), so the real start-pipeline handler's SFNClient
// talks to the local runner exactly as it talks to AWS (AWS_ENDPOINT_URL_SFN points here).
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  ExecutionAlreadyExistsError,
  ExecutionNotRedrivableError,
  type HistoryEvent,
  type LocalExecution,
  type LocalStepFunctions,
} from './step-functions.ts';

function epochSeconds(date: Date | undefined): number | undefined {
  return date ? date.getTime() / 1000 : undefined;
}

function describe(execution: LocalExecution, stateMachineArn: string): Record<string, unknown> {
  return {
    executionArn: execution.arn,
    stateMachineArn,
    name: execution.name,
    status: execution.status,
    startDate: epochSeconds(execution.startDate),
    stopDate: epochSeconds(execution.stopDate),
    input: execution.input,
    output: execution.output === undefined ? undefined : JSON.stringify(execution.output),
    error: execution.error,
    cause: execution.cause,
    redriveCount: execution.redriveCount,
    redriveDate: epochSeconds(execution.redriveDate),
    redriveStatus: ['FAILED', 'TIMED_OUT', 'ABORTED'].includes(execution.status)
      ? 'REDRIVABLE'
      : 'NOT_REDRIVABLE',
  };
}

const json = (value: unknown) => (value === undefined ? undefined : JSON.stringify(value));

/**
 * One local event as AWS's GetExecutionHistory shows it for this kind of state machine (Lambda tasks invoked
 * by function ARN), or nothing for the local-only events (retry and catch decisions, scaled waits).
 */
function awsEvent(event: HistoryEvent, execution: LocalExecution): Record<string, unknown> | undefined {
  const { stateName: name, stateType } = event;
  switch (event.type) {
    case 'ExecutionStarted':
      return { executionStartedEventDetails: { input: execution.input } };
    case 'ExecutionSucceeded':
      return { executionSucceededEventDetails: { output: json(execution.output) } };
    case 'ExecutionFailed':
      return { executionFailedEventDetails: { error: event.error, cause: event.cause } };
    case 'ExecutionTimeout':
      return { type: 'ExecutionTimedOut', executionTimedOutEventDetails: { error: 'States.Timeout' } };
    case 'ExecutionAborted':
      return {};
    case 'ExecutionRedriven':
      return { executionRedrivenEventDetails: { redriveCount: event.redriveCount } };
    case 'StateEntered':
      return {
        type: `${stateType}StateEntered`,
        stateEnteredEventDetails: { name, input: json(event.input) },
      };
    case 'StateExited':
      return {
        type: `${stateType}StateExited`,
        stateExitedEventDetails: { name, output: json(event.output) },
      };
    case 'StateFailed':
      // Each failed attempt of a Task; a Fail state shows only as FailStateEntered, then ExecutionFailed.
      return stateType === 'Task'
        ? {
            type: 'LambdaFunctionFailed',
            lambdaFunctionFailedEventDetails: { error: event.error, cause: event.cause },
          }
        : undefined;
    default:
      return undefined;
  }
}

function awsHistory(execution: LocalExecution): Record<string, unknown>[] {
  const events: Record<string, unknown>[] = [];
  for (const event of execution.history) {
    const shaped = awsEvent(event, execution);
    if (!shaped) continue;
    const id = events.length + 1;
    events.push({
      id,
      previousEventId: id - 1,
      timestamp: event.timestamp / 1000,
      type: event.type,
      ...shaped,
    });
  }
  return events;
}

/** One page of `items`, with AWS's maxResults/nextToken (the token is an offset here). */
function page<T>(items: T[], body: Record<string, unknown>, key: string): Record<string, unknown> {
  const start = Number(body.nextToken ?? 0) || 0;
  const size = Number(body.maxResults ?? 0) || 1000;
  const end = start + size;
  return { [key]: items.slice(start, end), nextToken: end < items.length ? String(end) : undefined };
}

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

export interface SfnEndpoint {
  url: string;
  close(): Promise<void>;
}

export async function startSfnEndpoint(sfn: LocalStepFunctions, host = '127.0.0.1'): Promise<SfnEndpoint> {
  const server: Server = createServer(async (req, res) => {
    const send = (status: number, body: Record<string, unknown>, errorType?: string) => {
      const headers: Record<string, string> = { 'content-type': 'application/x-amz-json-1.0' };
      if (errorType) headers['x-amzn-errortype'] = errorType;
      res.writeHead(status, headers);
      res.end(JSON.stringify(errorType ? { __type: errorType, message: body.message } : body));
    };
    try {
      const target = String(req.headers['x-amz-target'] ?? '');
      const operation = target.split('.').pop();
      const body = JSON.parse((await readBody(req)) || '{}') as Record<string, string | undefined> & {
        reverseOrder?: boolean;
      };
      const lookup = () => {
        const execution = sfn.get(body.executionArn ?? '');
        if (!execution) {
          send(400, { message: `Execution Does Not Exist: '${body.executionArn}'` }, 'ExecutionDoesNotExist');
        }
        return execution;
      };
      switch (operation) {
        case 'StartExecution': {
          if (body.stateMachineArn !== sfn.stateMachineArn) {
            send(
              400,
              { message: `State Machine Does Not Exist: '${body.stateMachineArn}'` },
              'StateMachineDoesNotExist',
            );
            return;
          }
          const { execution } = sfn.start(body.name ?? crypto.randomUUID(), body.input ?? '{}');
          send(200, { executionArn: execution.arn, startDate: epochSeconds(execution.startDate) });
          return;
        }
        case 'DescribeExecution': {
          const execution = lookup();
          if (execution) send(200, describe(execution, sfn.stateMachineArn));
          return;
        }
        case 'ListExecutions': {
          // AWS lists the most recent first, without input, output, error or cause.
          const executions = sfn
            .list()
            .filter((e) => !body.statusFilter || e.status === body.statusFilter)
            .sort((a, b) => b.startDate.getTime() - a.startDate.getTime())
            .map((e) => {
              const {
                input: _i,
                output: _o,
                error: _e,
                cause: _c,
                redriveStatus: _r,
                ...listed
              } = describe(e, sfn.stateMachineArn);
              return listed;
            });
          send(200, page(executions, body, 'executions'));
          return;
        }
        case 'GetExecutionHistory': {
          const execution = lookup();
          if (!execution) return;
          const events = awsHistory(execution);
          if (body.reverseOrder) events.reverse();
          send(200, page(events, body, 'events'));
          return;
        }
        case 'RedriveExecution': {
          const execution = lookup();
          if (!execution) return;
          const redriven = sfn.redrive(execution.arn);
          send(200, { redriveDate: epochSeconds(redriven.redriveDate) });
          return;
        }
        default:
          send(
            400,
            { message: `The local runner does not implement ${operation}` },
            'UnknownOperationException',
          );
      }
    } catch (error) {
      if (error instanceof ExecutionAlreadyExistsError || error instanceof ExecutionNotRedrivableError) {
        send(400, { message: error.message }, error.name);
        return;
      }
      send(500, { message: error instanceof Error ? error.message : String(error) }, 'InternalFailure');
    }
  });
  await new Promise<void>((resolve) => server.listen(0, host, resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://${host}:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
