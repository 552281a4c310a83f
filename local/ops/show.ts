// `aep-audience show <execution>`: one file's story: its states in order (with retries, failures and redrives)
// and the summary of its reports.
import type { S3Client } from '@aws-sdk/client-s3';
import type { SFNClient } from '@aws-sdk/client-sfn';
import { factsJson, formatDuration } from './executions.ts';
import { type ExecutionFacts, executionFacts, type StateVisit, stateVisits } from './history.ts';
import { describeExecution, executionArnFor, executionHistory, readReport } from './read.ts';
import type { PipelineStackOutputs } from './stack.ts';

// biome-ignore lint/suspicious/noExplicitAny: reports are JSON written by the pipeline's tasks.
type Report = Record<string, any>;

export interface ReportsSummary {
  prefix: string;
  validation: {
    valid: boolean;
    rows?: number;
    invalidRows?: number;
    invalidByCode?: Record<string, number>;
    identities?: Record<string, number>;
    failure?: { code: string; message: string };
  } | null;
  result: {
    audienceId: string | null;
    refreshed: boolean;
    runId: string | null;
    destinations: { flowId: string; status: string }[];
  } | null;
  error: { code: string; message: string; redrivable: boolean } | null;
}

export interface ExecutionStory {
  facts: ExecutionFacts;
  /** The states in order; `redriven` marks where each redrive resumed. */
  stages: StateVisit[];
  reports: ReportsSummary;
}

async function summarizeReports(
  s3: S3Client,
  bucket: string,
  execution: string,
  succeeded: boolean,
): Promise<ReportsSummary> {
  const prefix = `reports/${execution}/`;
  const [validation, result, error] = (await Promise.all(
    ['validation.json', 'result.json', succeeded ? undefined : 'error.json'].map((name) =>
      name ? readReport(s3, bucket, `${prefix}${name}`) : null,
    ),
  )) as (Report | null)[];
  return {
    prefix: `s3://${bucket}/${prefix}`,
    validation: validation
      ? {
          valid: Boolean(validation.valid),
          rows: validation.rows,
          invalidRows: validation.invalidRows,
          invalidByCode: validation.invalidByCode,
          identities: validation.identities,
          ...(validation.failure ? { failure: validation.failure } : {}),
        }
      : null,
    result: result
      ? {
          audienceId: result.audienceId ?? null,
          refreshed: Boolean(result.refreshed),
          runId: result.runId ?? null,
          destinations: (result.destinations ?? []).map((d: Report) => ({
            flowId: d.flowId,
            status: d.status,
          })),
        }
      : null,
    error: error
      ? { code: String(error.code), message: String(error.message), redrivable: error.redrivable === true }
      : null,
  };
}

export async function executionStory(
  clients: { sfn: SFNClient; s3: S3Client },
  stack: PipelineStackOutputs,
  ref: string,
): Promise<ExecutionStory> {
  const arn = executionArnFor(stack, ref);
  const description = await describeExecution(clients.sfn, arn);
  const events = await executionHistory(clients.sfn, arn);
  const facts = executionFacts(description, events);
  return {
    facts,
    stages: stateVisits(events),
    reports: await summarizeReports(clients.s3, stack.bucketName, facts.name, facts.status === 'SUCCEEDED'),
  };
}

function counts(record: Record<string, number> | undefined): string {
  const entries = Object.entries(record ?? {});
  return entries.length ? entries.map(([k, n]) => `${k} ${n}`).join(', ') : 'none';
}

/** What the operator should do next, from why the execution stopped. */
export function nextStep(facts: ExecutionFacts): string | undefined {
  const { stop } = facts;
  if (stop.kind === 'FILE') return 'The file was wrong: fix it and upload it again under incoming/.';
  if (stop.kind === 'OUTAGE') {
    return `Once the outage is over: aep-audience redrive ${facts.name} (resumes at ${stop.state}).`;
  }
  if (stop.kind === 'OTHER') return `It stopped in ${stop.state}, where a redrive would fail the same way.`;
  return undefined;
}

export function formatStory(story: ExecutionStory): string {
  const { facts, stages, reports } = story;
  const lines = [
    `execution  ${facts.name}${facts.redriveCount ? `  (redriven ${facts.redriveCount}x)` : ''}`,
    `file       ${facts.file ? `s3://${facts.file.bucket}/${facts.file.key}` : '-'}`,
    `status     ${facts.status}${facts.stop.kind === 'NONE' ? '' : `  ${facts.stop.code}: ${facts.stop.message}`}`,
    `started    ${facts.startDate?.toISOString() ?? '-'}  (${formatDuration(facts.durationMs)})`,
    `stage      ${facts.stage ?? '-'}`,
    `audience   ${facts.audienceId ?? '-'}${facts.runId ? `  run ${facts.runId}` : ''}`,
    '',
    'States:',
  ];
  for (const visit of stages) {
    if (visit.redriven) lines.push(`  -- redrive ${visit.redriven} resumed here --`);
    const took = visit.exitedAt ? formatDuration(visit.exitedAt.getTime() - visit.enteredAt.getTime()) : '';
    const retries = visit.outcome === 'DONE' ? visit.failures.length : Math.max(0, visit.failures.length - 1);
    const last = visit.failures.at(-1);
    let outcome = visit.outcome === 'DONE' ? 'ok' : visit.outcome === 'FAILED' ? 'FAILED' : 'in progress';
    if (visit.outcome === 'FAILED' && last) outcome = `FAILED ${last.error}: ${last.message}`;
    if (retries) outcome += ` (${retries} failed attempt${retries > 1 ? 's' : ''} retried)`;
    if (visit.outcome === 'DONE' && last && visit.type === 'Task' && visit.failures.length) {
      outcome = `caught ${last.error}: ${last.message}`;
    }
    lines.push(
      `  ${visit.enteredAt.toISOString().slice(11, 23)}  ${visit.state.padEnd(22)} ${took.padStart(7)}  ${outcome}`,
    );
  }
  lines.push('', `Reports (${reports.prefix}):`);
  const v = reports.validation;
  if (v) {
    lines.push(
      v.failure
        ? `  validation.json  refused: ${v.failure.code}: ${v.failure.message}`
        : `  validation.json  ${v.valid ? 'valid' : 'invalid'}: ${v.rows ?? 0} rows, ${v.invalidRows ?? 0} invalid` +
            ` (${counts(v.invalidByCode)}); identities: ${counts(v.identities)}`,
    );
  }
  const r = reports.result;
  if (r) {
    lines.push(
      `  result.json      audience ${r.audienceId} (${r.refreshed ? 'refreshed' : 'new'}), run ${r.runId}`,
      ...r.destinations.map((d) => `                   destination ${d.flowId}: ${d.status}`),
    );
  }
  const e = reports.error;
  if (e) lines.push(`  error.json       ${e.code}: ${e.message}${e.redrivable ? ' (redrivable)' : ''}`);
  if (!v && !r && !e) lines.push('  none yet');
  const next = nextStep(facts);
  if (next) lines.push('', next);
  return `${lines.join('\n')}\n`;
}

export function storyJson(story: ExecutionStory): Record<string, unknown> {
  return {
    ...factsJson(story.facts),
    stages: story.stages.map((s) => ({
      state: s.state,
      type: s.type,
      enteredAt: s.enteredAt.toISOString(),
      exitedAt: s.exitedAt?.toISOString() ?? null,
      outcome: s.outcome,
      failures: s.failures,
      ...(s.redriven ? { redriven: s.redriven } : {}),
    })),
    reports: story.reports,
  };
}
