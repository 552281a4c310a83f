// The human-readable summary of one execution, as `run` and `serve` print it.
import { SUPERSEDED_NOTE } from '../functions/archive-file/archive-file.ts';
import type { ExecutionSummary } from './runner/execution-summary.ts';

export function printSummary(
  summary: ExecutionSummary,
  write: (text: string) => void,
  localPath: (key: string) => string,
  hint?: string,
): void {
  const lines = [
    '',
    `${summary.status === 'SUCCEEDED' ? 'SUCCEEDED' : 'FAILED'}  ${summary.file}  (execution ${summary.execution})`,
  ];
  if (summary.validation) {
    lines.push(
      `  rows: ${summary.validation.rows}, invalid: ${summary.validation.invalidRows}, identities: ${
        Object.entries(summary.validation.identities)
          .map(([ns, n]) => `${ns} ${n}`)
          .join(', ') || 'none'
      }`,
    );
  }
  if (summary.audienceId) {
    const name = summary.audienceName ? ` "${summary.audienceName}"` : '';
    lines.push(`  audience: ${summary.audienceId}${name}${summary.refreshed ? ' (refreshed)' : ' (new)'}`);
  }
  if (summary.replaced) {
    lines.push(
      `  replaces: ${summary.replaced.audienceId} "${summary.replaced.name}" in its dataflows (it has had AEP's 10 runs)`,
    );
  }
  if (summary.runId) lines.push(`  ingestion run: ${summary.runId}`);
  for (const d of summary.destinations) lines.push(`  destination ${d.flowId}: ${d.status}`);
  if (summary.error) lines.push(`  error: ${summary.error.code}: ${summary.error.message}`);
  if (hint) lines.push(`  ${hint}`);
  for (const [name, key] of Object.entries(summary.reports))
    lines.push(`  ${name} report: ${localPath(key)}`);
  if (summary.status === 'SUCCEEDED' && summary.destinations.some((d) => d.status === 'SUPERSEDED')) {
    lines.push(`  Note: ${SUPERSEDED_NOTE}.`);
  } else if (summary.status === 'SUCCEEDED') {
    lines.push(
      "  AEP exports the audience after its daily segmentation job, on each destination's schedule.",
    );
  }
  write(`${lines.join('\n')}\n`);
}
