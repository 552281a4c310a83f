// An in-memory AepApi for the AEP-side task tests: audiences, operations and runs that finish after a set
// number of checks, dataflows with selectors, and scripted failures per method.
import type { AepApi, CreateAudienceResult } from '../../../functions/shared/aep/api.ts';
import { AepConflictError, AepNotFoundError } from '../../../functions/shared/aep/errors.ts';
import type {
  AddToDataflowInput,
  AddToDataflowOutcome,
  AudienceOperation,
  AudienceRun,
  CreateAudienceInput,
  FlowRun,
  FlowRunError,
  StartRunInput,
} from '../../../functions/shared/aep/types.ts';

interface FakeOperation {
  operationId: string;
  audienceId: string;
  name: string;
  checksLeft: number;
  failureReason?: string;
}

interface FakeRun extends AudienceRun {
  checksLeft: number;
  failure?: RunFailure;
}

interface RunFailure {
  stage: string;
  reason: string;
  /** What the failed stage's Flow Service run lists; without it the run lists none. */
  flowRunErrors?: FlowRunError[];
}

export class FakeAep implements AepApi {
  /** Every call, in order, with its arguments. */
  readonly calls: { method: keyof AepApi; args: unknown[] }[] = [];
  readonly audiences = new Map<string, { audienceId: string; name: string; input?: CreateAudienceInput }>();
  readonly operations = new Map<string, FakeOperation>();
  readonly runs = new Map<string, FakeRun>();
  /** flowId → audience ids selected. Unknown flow ids answer 404. */
  readonly flows = new Map<string, string[]>();
  /** Flow Service runs by id: one per stage of a finished run. Unknown ids answer 404. */
  readonly flowRuns = new Map<string, FlowRun>();
  /** PROCESSING answers before an operation or a run reaches its outcome. */
  checksBeforeDone = 1;
  private readonly scriptedFailures = new Map<keyof AepApi, Error[]>();
  private nextOperationFailure: string | undefined;
  private nextRunFailure: RunFailure | undefined;
  private nextCreateAmbiguous = false;
  private counter = 0;

  constructor(flowIds: string[] = []) {
    for (const id of flowIds) this.flows.set(id, []);
  }

  /** The next call of `method` throws `error` instead of doing anything. */
  failNext(method: keyof AepApi, error: Error): void {
    const queue = this.scriptedFailures.get(method) ?? [];
    queue.push(error);
    this.scriptedFailures.set(method, queue);
  }

  failNextOperation(reason: string): void {
    this.nextOperationFailure = reason;
  }

  failNextRun(stage: string, reason: string, flowRunErrors?: FlowRunError[]): void {
    this.nextRunFailure = { stage, reason, ...(flowRunErrors ? { flowRunErrors } : {}) };
  }

  /** The next create takes effect but answers as a client that re-POSTed after a lost answer would. */
  answerNextCreateAsAlreadyCreated(): void {
    this.nextCreateAmbiguous = true;
  }

  /** An audience made in AEP by someone else (no operation, not in any registry). */
  addForeignAudience(name: string): string {
    const audienceId = this.id('aud');
    this.audiences.set(name.toLowerCase(), { audienceId, name });
    return audienceId;
  }

  callsOf(method: keyof AepApi): unknown[][] {
    return this.calls.filter((call) => call.method === method).map((call) => call.args);
  }

  private id(prefix: string): string {
    this.counter += 1;
    return `${prefix}-${this.counter}`;
  }

  private enter(method: keyof AepApi, args: unknown[]): void {
    this.calls.push({ method, args });
    const error = this.scriptedFailures.get(method)?.shift();
    if (error) throw error;
  }

  async createAudience(input: CreateAudienceInput): Promise<CreateAudienceResult> {
    this.enter('createAudience', [input]);
    if (this.audiences.has(input.name.toLowerCase())) {
      throw new AepConflictError('Audience already exists', { status: 409, aepCode: '100950' });
    }
    const audienceId = this.id('aud');
    this.audiences.set(input.name.toLowerCase(), { audienceId, name: input.name, input });
    const operation: FakeOperation = {
      operationId: this.id('op'),
      audienceId,
      name: input.name,
      checksLeft: this.checksBeforeDone,
    };
    if (this.nextOperationFailure !== undefined) operation.failureReason = this.nextOperationFailure;
    this.nextOperationFailure = undefined;
    this.operations.set(operation.operationId, operation);
    if (this.nextCreateAmbiguous) {
      this.nextCreateAmbiguous = false;
      return { kind: 'ALREADY_CREATED' };
    }
    return { kind: 'STARTED', operationId: operation.operationId };
  }

  async getOperation(operationId: string): Promise<AudienceOperation> {
    this.enter('getOperation', [operationId]);
    const operation = this.operations.get(operationId);
    if (!operation) throw new AepNotFoundError('operation not found', { status: 404 });
    if (operation.checksLeft > 0) {
      operation.checksLeft -= 1;
      return { operationId, status: 'PROCESSING' };
    }
    if (operation.failureReason !== undefined) {
      this.audiences.delete(operation.name.toLowerCase());
      return { operationId, status: 'FAILED', failureReason: operation.failureReason };
    }
    return { operationId, status: 'SUCCESS', audienceId: operation.audienceId, audienceName: operation.name };
  }

  async findAudienceByName(name: string): Promise<{ audienceId: string; name: string } | undefined> {
    this.enter('findAudienceByName', [name]);
    const found = this.audiences.get(name.toLowerCase());
    return found && { audienceId: found.audienceId, name: found.name };
  }

  async startRun(audienceId: string, input: StartRunInput): Promise<AudienceRun> {
    this.enter('startRun', [audienceId, input]);
    if (![...this.audiences.values()].some((a) => a.audienceId === audienceId)) {
      throw new AepNotFoundError('audience not found', { status: 404, aepCode: '100940' });
    }
    const run: FakeRun = {
      audienceId,
      runId: this.id('run'),
      status: 'PROCESSING',
      dataFilterStartTime: input.dataFilterStartTime,
      details: [],
      checksLeft: this.checksBeforeDone,
    };
    if (input.dataFilterEndTime !== undefined) run.dataFilterEndTime = input.dataFilterEndTime;
    if (this.nextRunFailure) run.failure = this.nextRunFailure;
    this.nextRunFailure = undefined;
    this.runs.set(run.runId, run);
    return this.view(run);
  }

  private view(run: FakeRun): AudienceRun {
    const { checksLeft: _checksLeft, failure: _failure, ...visible } = run;
    return structuredClone(visible);
  }

  async getRun(audienceId: string, runId: string): Promise<AudienceRun> {
    this.enter('getRun', [audienceId, runId]);
    const run = this.runs.get(runId);
    if (!run || run.audienceId !== audienceId) throw new AepNotFoundError('run not found', { status: 404 });
    if (run.checksLeft > 0) {
      run.checksLeft -= 1;
    } else if (run.failure) {
      run.status = 'FAILED';
      run.details = [
        this.stage(run, 'DATASET_INGEST', 'success'),
        this.stage(run, run.failure.stage, 'failed', run.failure.flowRunErrors),
      ];
      // Where AEP's reason would be, if the client passes one on.
      Object.assign(run.details[1]!, { failureReason: run.failure.reason });
    } else {
      run.status = 'SUCCESS';
      run.details = [
        this.stage(run, 'DATASET_INGEST', 'success'),
        this.stage(run, 'PROFILE_STORE_INGEST', 'success'),
      ];
    }
    return this.view(run);
  }

  /** A stage of a finished run, with the Flow Service run behind it. */
  private stage(run: FakeRun, stage: string, status: string, errors: FlowRunError[] = []) {
    const flowRunId = `${run.runId}-${stage.toLowerCase()}`;
    this.flowRuns.set(flowRunId, { id: flowRunId, status, errors });
    return { stage, status: status.toUpperCase(), flowRunId };
  }

  async getFlowRun(flowRunId: string): Promise<FlowRun> {
    this.enter('getFlowRun', [flowRunId]);
    const flowRun = this.flowRuns.get(flowRunId);
    if (!flowRun) throw new AepNotFoundError(`runs not found with id = [${flowRunId}]`, { status: 404 });
    return structuredClone(flowRun);
  }

  async listRuns(audienceId: string): Promise<AudienceRun[]> {
    this.enter('listRuns', [audienceId]);
    return [...this.runs.values()]
      .filter((run) => run.audienceId === audienceId)
      .map((run) => this.view(run));
  }

  async addAudienceToDataflow(input: AddToDataflowInput): Promise<AddToDataflowOutcome> {
    this.enter('addAudienceToDataflow', [input]);
    const selectors = this.flows.get(input.flowId);
    if (!selectors) {
      throw new AepNotFoundError(`flows not found with id = [${input.flowId}]`, { status: 404 });
    }
    const replaced = input.replacesAudienceIds ?? [];
    const old = selectors.findIndex((id) => replaced.includes(id));
    const present = selectors.includes(input.audienceId);
    if (old < 0) {
      if (present) return 'ALREADY_PRESENT';
      if (input.onlyWhereReplaced) return 'NOT_PRESENT';
      selectors.push(input.audienceId);
      return 'ADDED';
    }
    if (!present) selectors[old] = input.audienceId;
    for (let i = selectors.length - 1; i >= 0; i--)
      if (replaced.includes(selectors[i]!)) selectors.splice(i, 1);
    return 'REPLACED';
  }
}
