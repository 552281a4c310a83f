// An execution's summary in the shape of `run --json` (docs/contracts.md#json-output), from its last state
// document and, for a failure, its error.json report.
import { type ActivationState, replacedOf } from '../../functions/shared/state.ts';
import { causeText } from './progress.ts';
import type { LocalExecution } from './step-functions.ts';
import type { Json } from './synthesized.ts';

export interface ExecutionSummary {
  status: 'SUCCEEDED' | 'FAILED';
  execution: string;
  executionArn: string;
  file: string;
  audienceId: string | null;
  /** The audience's name in AEP: the file's, or a later generation's (`<name> #2`) after a rollover. */
  audienceName: string | null;
  /** The generation this audience replaced in its dataflows, after a rollover. */
  replaced: { audienceId: string; name: string } | null;
  runId: string | null;
  refreshed: boolean;
  destinations: { flowId: string; status: ActivationState['destinations'][number]['status'] | 'FAILED' }[];
  validation: {
    valid: boolean;
    rows: number;
    invalidRows: number;
    invalidByCode: Record<string, number>;
    identities: Record<string, number>;
  } | null;
  reports: Record<string, string>;
  error?: { code: string; message: string };
}

/** Summarises a closed execution; `readJson` reads a report of the drop bucket (undefined when missing). */
export async function summarizeExecution(
  execution: LocalExecution,
  readJson: (key: string) => Promise<Json | undefined>,
): Promise<ExecutionSummary> {
  const lastState: Json =
    execution.status === 'SUCCEEDED'
      ? execution.output
      : ([...execution.history].reverse().find((e) => e.type === 'StateExited' && e.output)?.output ??
        JSON.parse(execution.input));
  const validation = lastState?.validation;
  const reports: Record<string, string> = {};
  if (validation?.reports?.validation) reports.validation = validation.reports.validation;
  if (validation?.reports?.rejects) reports.rejects = validation.reports.rejects;
  const summary: ExecutionSummary = {
    status: execution.status === 'SUCCEEDED' ? 'SUCCEEDED' : 'FAILED',
    execution: execution.name,
    executionArn: execution.arn,
    file: lastState?.file?.key ?? '',
    audienceId: lastState?.audience?.audienceId ?? null,
    audienceName: lastState?.audience?.name ?? validation?.audience?.name ?? null,
    replaced: replacedOf(lastState?.audience?.replaces),
    runId: lastState?.ingestion?.runId ?? null,
    refreshed: Boolean(lastState?.audience?.refreshed),
    destinations: [],
    validation: validation
      ? {
          valid: validation.valid,
          rows: validation.rows,
          invalidRows: validation.invalidRows,
          invalidByCode: validation.invalidByCode,
          identities: validation.identities,
        }
      : null,
    reports,
  };
  if (execution.status === 'SUCCEEDED') {
    summary.destinations = (lastState.activation?.destinations ?? []).map((d: Json) => ({
      flowId: d.flowId,
      status: d.status,
    }));
    reports.result = lastState.result?.resultKey ?? `reports/${execution.name}/result.json`;
    return summary;
  }
  reports.error = `reports/${execution.name}/error.json`;
  const errorReport = await readJson(reports.error);
  summary.error = {
    code: errorReport?.code ?? execution.error ?? 'UNKNOWN',
    message: errorReport?.message ?? causeText(execution.cause),
  };
  summary.destinations = (lastState?.activation?.destinations ?? validation?.destinations ?? []).map(
    (d: Json) => ({
      flowId: d.flowId,
      status: d.status ?? 'FAILED',
    }),
  );
  return summary;
}
