// The Step Functions API on loopback (JSON 1.0 protocol), so the real start-pipeline handler's SFNClient
// talks to the local runner exactly as it talks to AWS (AWS_ENDPOINT_URL_SFN points here).
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  ExecutionAlreadyExistsError,
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
  };
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
      const body = JSON.parse((await readBody(req)) || '{}') as Record<string, string | undefined>;
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
          const executions = sfn
            .list()
            .filter((e) => !body.statusFilter || e.status === body.statusFilter)
            .map((e) => describe(e, sfn.stateMachineArn));
          send(200, { executions });
          return;
        }
        case 'GetExecutionHistory': {
          const execution = lookup();
          if (!execution) return;
          const events = execution.history.map((e, i) => ({
            id: i + 1,
            timestamp: e.timestamp / 1000,
            type: e.type,
            stateName: e.stateName,
            error: e.error,
            cause: e.cause,
          }));
          send(200, { events });
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
      if (error instanceof ExecutionAlreadyExistsError) {
        send(400, { message: error.message }, 'ExecutionAlreadyExists');
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
