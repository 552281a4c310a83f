// `aep-audience executions`: the pipeline's recent executions, newest first, with team, file, status, stage
// reached, audience id and duration; `--team T` keeps the files under incoming/T/ exactly.
import {
  type ExecutionListItem,
  ExecutionStatus,
  paginateListExecutions,
  type SFNClient,
} from '@aws-sdk/client-sfn';
import { topFolder } from '../../functions/shared/naming.ts';
import { OpsError } from './aws.ts';
import { type ExecutionFacts, executionFacts } from './history.ts';
import { describeExecution, executionHistory } from './read.ts';

/** Enough of the newest events to know where an execution stands (HandleFailure → Failed is ~6 events). */
const RECENT_EVENTS = 100;
/** Executions read side by side: each needs a DescribeExecution and a GetExecutionHistory. */
const PARALLEL_READS = 5;
export const DEFAULT_LIMIT = 50;

const STATUSES = Object.values(ExecutionStatus) as string[];

export interface ExecutionsQuery {
  status?: string;
  since?: Date;
  limit: number;
  /** Only the files under incoming/<team>/: the team is the first folder, matched exactly (case included). */
  team?: string;
}

/** The team of an execution: its file's first folder under incoming/, or null (a file at the top, or none). */
export function teamOfFacts(facts: Pick<ExecutionFacts, 'file'>): string | null {
  return (facts.file && topFolder(facts.file.key)) || null;
}

/** `--team`: a first folder under incoming/, so no slash. */
export function parseTeam(value: string | undefined): string | undefined {
  if (value === undefined) return undefined;
  if (!value || value.includes('/')) {
    throw new OpsError(`--team is the first folder under incoming/, without a slash (got "${value}")`, 2);
  }
  return value;
}

/**
 * Execution names start with the slug of the file's path below incoming/ (naming.ts executionName): a team's
 * are among those that start with the team's slug and a dash, which spares reading every other execution. The
 * slug alone is not the team (`teamA-x.csv` at the top slugs like `teamA/x.csv`, so does a team `teamA-x`): the
 * file's key decides, once read.
 */
function teamNamePrefix(team: string): string {
  return `${team
    .replace(/[^A-Za-z0-9_-]+/g, '-')
    .replace(/-{2,}/g, '-')
    .replace(/^[-_]+|[-_]+$/g, '')}-`;
}

/** `--status`: one of Step Functions' execution statuses, any case. */
export function parseStatus(value: string | undefined): string | undefined {
  if (value === undefined) return undefined;
  const status = value.toUpperCase();
  if (!STATUSES.includes(status)) {
    throw new OpsError(`--status must be one of ${STATUSES.join(', ')} (got "${value}")`, 2);
  }
  return status;
}

/** `--since`: a span back from now (`90m`, `24h`, `7d`) or a date or date-time (`2026-11-28`). */
export function parseSince(value: string | undefined, now: Date = new Date()): Date | undefined {
  if (value === undefined) return undefined;
  const span = /^(\d+)\s*([mhd])$/i.exec(value.trim());
  if (span) {
    const unitMs = { m: 60_000, h: 3_600_000, d: 86_400_000 }[span[2]!.toLowerCase() as 'm' | 'h' | 'd'];
    return new Date(now.getTime() - Number(span[1]) * unitMs);
  }
  const date = /^\d{4}-\d{2}-\d{2}([T ][\d:.]+(Z|[+-]\d{2}:?\d{2})?)?$/.test(value.trim())
    ? new Date(value.trim())
    : undefined;
  if (!date || Number.isNaN(date.getTime())) {
    throw new OpsError(
      `--since must be a span like 24h, 90m or 7d, or a date like 2026-11-28 (got "${value}")`,
      2,
    );
  }
  return date;
}

/** The list, newest first, stopping at `since` or `limit`: pages are read only as far as needed. */
async function listExecutions(
  sfn: SFNClient,
  stateMachineArn: string,
  query: ExecutionsQuery,
): Promise<ExecutionListItem[]> {
  const listed: ExecutionListItem[] = [];
  const pages = paginateListExecutions(
    { client: sfn, pageSize: Math.min(1000, query.limit) },
    { stateMachineArn, statusFilter: query.status as ExecutionStatus | undefined },
  );
  const prefix = query.team === undefined ? undefined : teamNamePrefix(query.team);
  for await (const page of pages) {
    for (const item of page.executions ?? []) {
      // Step Functions lists the newest first: the first one older than `since` ends the list.
      if (query.since && item.startDate && item.startDate < query.since) return listed;
      if (prefix && !item.name?.startsWith(prefix)) continue;
      listed.push(item);
      if (listed.length >= query.limit) return listed;
    }
  }
  return listed;
}

export async function recentExecutions(
  sfn: SFNClient,
  stateMachineArn: string,
  query: ExecutionsQuery,
  now: Date = new Date(),
): Promise<ExecutionFacts[]> {
  const items = await listExecutions(sfn, stateMachineArn, query);
  const facts: ExecutionFacts[] = [];
  for (let i = 0; i < items.length; i += PARALLEL_READS) {
    const batch = items.slice(i, i + PARALLEL_READS);
    facts.push(
      ...(await Promise.all(
        batch.map(async (item) => {
          const arn = item.executionArn!;
          const [description, events] = await Promise.all([
            describeExecution(sfn, arn),
            executionHistory(sfn, arn, { latest: RECENT_EVENTS }),
          ]);
          return executionFacts(description, events, now);
        }),
      )),
    );
  }
  return query.team === undefined ? facts : facts.filter((f) => teamOfFacts(f) === query.team);
}

export function formatDuration(ms: number | null): string {
  if (ms === null) return '-';
  if (ms < 1000) return `${ms}ms`;
  const seconds = Math.round(ms / 1000);
  if (seconds < 60) return `${seconds}s`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 60) return `${minutes}m${String(seconds % 60).padStart(2, '0')}s`;
  return `${Math.floor(minutes / 60)}h${String(minutes % 60).padStart(2, '0')}m`;
}

/** One row per execution, columns aligned; the file last because it is the longest. */
export function formatExecutionsTable(facts: ExecutionFacts[]): string {
  if (facts.length === 0) return 'No executions match.\n';
  const rows = facts.map((f) => [
    f.startDate?.toISOString().replace(/\.\d+Z$/, 'Z') ?? '-',
    f.redriveCount ? `${f.status} (redriven ${f.redriveCount}x)` : f.status,
    formatDuration(f.durationMs),
    teamOfFacts(f) ?? '-',
    f.stop.kind === 'FILE' || f.stop.kind === 'OUTAGE' ? `${f.stage} (${f.stop.code})` : (f.stage ?? '-'),
    f.audienceId ?? '-',
    f.name,
    f.file?.key ?? '-',
  ]);
  const header = ['STARTED', 'STATUS', 'DURATION', 'TEAM', 'STAGE', 'AUDIENCE', 'EXECUTION', 'FILE'];
  const widths = header.map((h, col) => Math.max(h.length, ...rows.map((r) => r[col]!.length)));
  const line = (cells: string[]) =>
    cells
      .map((c, col) => (col === cells.length - 1 ? c : c.padEnd(widths[col]!)))
      .join('  ')
      .trimEnd();
  return `${[line(header), ...rows.map(line)].join('\n')}\n`;
}

/** The `--json` shape: plain values, dates as ISO strings. */
export function factsJson(f: ExecutionFacts): Record<string, unknown> {
  return {
    execution: f.name,
    executionArn: f.executionArn,
    status: f.status,
    team: teamOfFacts(f),
    file: f.file,
    stage: f.stage,
    audienceId: f.audienceId,
    runId: f.runId,
    startDate: f.startDate?.toISOString() ?? null,
    stopDate: f.stopDate?.toISOString() ?? null,
    durationMs: f.durationMs,
    redriveCount: f.redriveCount,
    ...(f.stop.kind === 'NONE' ? {} : { stop: f.stop }),
  };
}
