// The operator commands against a deployed stack (executions, show, redrive): check their options' values,
// find the stack, run the command, print text or JSON, and answer with the exit codes of
// docs/contracts.md#exit-codes.
import { createClients, destroyClients, explainAwsError, type OpsClients, OpsError } from './aws.ts';
import {
  DEFAULT_LIMIT,
  factsJson,
  formatExecutionsTable,
  parseSince,
  parseStatus,
  parseTeam,
  recentExecutions,
} from './executions.ts';
import { formatRedrive, redriveExecution } from './redrive.ts';
import { executionStory, formatStory, storyJson } from './show.ts';
import { appStackName, resolveStack } from './stack.ts';

export const OPS_COMMANDS = ['executions', 'show', 'redrive'] as const;
export type OpsCommand = (typeof OPS_COMMANDS)[number];

export interface OpsIo {
  stdout: (text: string) => void;
  stderr: (text: string) => void;
}

export interface OpsOptions {
  stack?: string;
  region?: string;
  status?: string;
  since?: string;
  limit?: string;
  team?: string;
  json?: boolean;
}

function parseLimit(value: string | undefined): number {
  if (value === undefined) return DEFAULT_LIMIT;
  const limit = Number(value);
  if (!Number.isInteger(limit) || limit < 1)
    throw new OpsError(`--limit must be a positive whole number (got "${value}")`, 2);
  return limit;
}

async function dispatch(
  command: OpsCommand,
  args: string[],
  options: OpsOptions,
  io: OpsIo,
  clients: OpsClients,
): Promise<number> {
  const print = (text: string, value: unknown) =>
    io.stdout(options.json ? `${JSON.stringify(value, null, 2)}\n` : text);
  if (command === 'executions') {
    if (args.length)
      throw new OpsError('executions takes no arguments; filter with --status, --since and --team', 2);
    const query = {
      status: parseStatus(options.status),
      since: parseSince(options.since),
      limit: parseLimit(options.limit),
      ...(options.team === undefined ? {} : { team: parseTeam(options.team) }),
    };
    const stack = await resolveStack(clients.cfn, options.stack ?? appStackName());
    const facts = await recentExecutions(clients.sfn, stack.stateMachineArn, query);
    print(formatExecutionsTable(facts), facts.map(factsJson));
    return 0;
  }
  if (args.length !== 1) throw new OpsError(`${command} takes one execution: its name or ARN`, 2);
  const stack = await resolveStack(clients.cfn, options.stack ?? appStackName());
  if (command === 'show') {
    const story = await executionStory(clients, stack, args[0]!);
    print(formatStory(story), storyJson(story));
    return 0;
  }
  const outcome = await redriveExecution(clients.sfn, stack, args[0]!);
  print(formatRedrive(outcome), outcome);
  return outcome.redriven ? 0 : 1;
}

/** Runs one operator command; errors about the setup or the arguments become a message and exit code 2. */
export async function runOpsCommand(
  command: OpsCommand,
  args: string[],
  options: OpsOptions,
  io: OpsIo,
  clients: OpsClients = createClients(options.region),
): Promise<number> {
  try {
    return await dispatch(command, args, options, io, clients);
  } catch (error) {
    const explained = explainAwsError(error);
    if (explained instanceof OpsError) {
      io.stderr(`aep-audience ${command}: ${explained.message}\n`);
      return explained.exitCode;
    }
    throw error;
  } finally {
    destroyClients(clients);
  }
}
