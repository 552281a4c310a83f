// The progress lines' wording: one readable line per state that finished, retried or failed, per notification,
// per refused AWS call.
import type { NotificationMessage } from '../../functions/shared/notify.ts';
import type { GatewayDecision } from '../iam/gateway.ts';
import type { HistoryEvent, LocalExecution } from './step-functions.ts';
import type { Json } from './synthesized.ts';

/** A Lambda error's message from the cause Step Functions records (`{"errorType","errorMessage"}`), else the cause. */
export function causeText(cause: string | undefined): string {
  if (!cause) return '';
  try {
    const parsed = JSON.parse(cause) as { errorMessage?: string };
    return parsed.errorMessage ?? cause;
  } catch {
    return cause;
  }
}

/** The `incoming/…` key an execution was started for, from its input. */
function fileKeyOf(execution: LocalExecution): string {
  try {
    return (JSON.parse(execution.input) as { file?: { key?: string } }).file?.key ?? '';
  } catch {
    return '';
  }
}

/** The line for a state event of an execution, or undefined for events people need not see. */
export function stateEventLine(
  execution: LocalExecution,
  event: Pick<HistoryEvent, 'type' | 'stateName' | 'error' | 'cause' | 'output' | 'retryAttempt'>,
  withFile = false,
): string | undefined {
  const tag = withFile ? `[${execution.name} ${fileKeyOf(execution)}]` : `[${execution.name}]`;
  if (event.type === 'StateExited' && event.stateName) {
    const detail = describeState(event.stateName, event.output);
    return detail ? `${tag} ${event.stateName}: ${detail}` : undefined;
  }
  if (event.type === 'StateRetried') {
    return `${tag} ${event.stateName}: retrying (attempt ${(event.retryAttempt ?? 0) + 1})`;
  }
  if (event.type === 'StateFailed')
    return `${tag} ${event.stateName}: ${event.error}: ${causeText(event.cause)}`;
  return undefined;
}

export function notifiedLine(executionName: string, file: string, message: NotificationMessage): string {
  return `[${executionName}] notified (${file}): ${message.subject}`;
}

/** A refused AWS call, naming the function, the action and the resource. */
export function deniedLine(decision: GatewayDecision): string {
  const what = decision.action ? `${decision.action} on ${decision.resource}` : decision.operation;
  return `[aws] ${decision.function ?? '(unknown caller)'} was refused ${what}: ${decision.message}`;
}

export function failureReportFailedLine(executionName: string, error: Error): string {
  return `[${executionName}] the failure report could not be written: ${error.message}`;
}

function formatCount(n: unknown): string {
  return typeof n === 'number' ? n.toLocaleString('en-US') : String(n);
}

/** One readable line for a state that just finished, from the part of the state it wrote. */
function describeState(stateName: string, output: Json): string | undefined {
  switch (stateName) {
    case 'ValidateFile':
    case 'ValidateLargeFile': {
      const v = output?.validation;
      if (!v) return undefined;
      const ids = Object.entries(v.identities ?? {})
        .map(([ns, n]) => `${ns} ${formatCount(n)}`)
        .join(', ');
      return v.valid
        ? `${formatCount(v.rows)} rows, ${formatCount(v.invalidRows)} invalid; identities: ${ids || 'none'}`
        : `rejected: ${v.failure?.code}: ${v.failure?.message}`;
    }
    case 'CreateAudience':
    case 'CheckAudience': {
      const a = output?.audience;
      if (!a) return undefined;
      if (a.status === 'READY') {
        const replacing = a.replaces?.length
          ? `, replacing "${a.replaces[0].name}" (it has had its runs)`
          : '';
        return `${a.refreshed ? 'refreshing' : 'created'} audience "${a.name}" (${a.audienceId})${replacing}`;
      }
      return `AEP is creating audience "${a.name}" (check ${a.poll?.attempt ?? 0}, next in ${a.poll?.waitSeconds}s)`;
    }
    case 'StartIngestion':
    case 'CheckIngestion': {
      const i = output?.ingestion;
      if (!i) return undefined;
      if (i.status === 'SUCCESS') return `ingestion run ${i.runId} succeeded`;
      if (i.status === 'WAITING') return `waiting for ${i.waitingFor}, next check in ${i.poll?.waitSeconds}s`;
      const stages = (i.details ?? []).map((d: Json) => `${d.stage} ${d.status}`).join(', ');
      return `ingestion run ${i.runId} in progress${stages ? ` (${stages})` : ''}, next check in ${i.poll?.waitSeconds}s`;
    }
    case 'ActivateDestinations': {
      const d = output?.activation?.destinations ?? [];
      if (d.length === 0) return 'no destinations to activate';
      return d.map((x: Json) => `${x.flowId} ${x.status}`).join(', ');
    }
    case 'ArchiveFile':
      return output?.result ? `original moved to ${output.result.archivedKey}` : undefined;
    case 'HandleFailure':
      return output?.failure
        ? `original moved to ${output.failure.failedKey ?? 'failed/'}; ${output.failure.code}`
        : undefined;
    default:
      return undefined;
  }
}
