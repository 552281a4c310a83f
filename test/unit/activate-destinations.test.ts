// ActivateDestinations with a fake AEP: added in order, idempotent on a re-run, readable failures.
import { describe, expect, it } from 'vitest';
import { activateDestinations } from '../../functions/activate-destinations/activate-destinations.ts';
import { AepRequestError, AepUnavailableError } from '../../functions/shared/aep/errors.ts';
import type { Registry } from '../../functions/shared/registry.ts';
import type { AudienceState, Destination } from '../../functions/shared/state.ts';
import { rejection, taskDeps, taskEvent } from './support/aep-tasks.ts';
import { FakeAep } from './support/fake-aep.ts';

const audience: AudienceState = {
  status: 'READY',
  audienceId: 'aud-42',
  name: 'teamA/churn',
  refreshed: false,
  poll: { attempt: 0, waitSeconds: 15 },
};
const batch: Destination = {
  flowId: 'flow-batch',
  kind: 'batch',
  batch: {
    exportMode: 'DAILY_FULL_EXPORT',
    schedule: { frequency: 'DAILY', startDate: '2026-12-01', startTime: '20:00' },
    filenameTemplate: '%DESTINATION_NAME%_%SEGMENT_ID%',
  },
};
const streaming: Destination = { flowId: 'flow-stream', kind: 'streaming' };
// Activation never touches the registry.
const noRegistry = {} as Registry;

function event(destinations: Destination[]) {
  return taskEvent({ name: 'teamA/churn', execution: 'exec-1', destinations, state: { audience } });
}

describe('activate-destinations', () => {
  it('adds the audience to each dataflow in order, batch settings included', async () => {
    const aep = new FakeAep(['flow-stream', 'flow-batch']);
    const result = await activateDestinations(event([streaming, batch]), taskDeps(aep, noRegistry));
    expect(result).toEqual({
      destinations: [
        { flowId: 'flow-stream', kind: 'streaming', status: 'ADDED' },
        { flowId: 'flow-batch', kind: 'batch', status: 'ADDED' },
      ],
    });
    expect(aep.callsOf('addAudienceToDataflow')).toEqual([
      [{ flowId: 'flow-stream', audienceId: 'aud-42', audienceName: 'teamA/churn' }],
      [{ flowId: 'flow-batch', audienceId: 'aud-42', audienceName: 'teamA/churn', batch: batch.batch }],
    ]);
  });

  it('a re-run reports ALREADY_PRESENT and adds nothing twice', async () => {
    const aep = new FakeAep(['flow-stream', 'flow-batch']);
    await activateDestinations(event([streaming, batch]), taskDeps(aep, noRegistry));
    const again = await activateDestinations(event([streaming, batch]), taskDeps(aep, noRegistry));
    expect(again.destinations.map((d) => d.status)).toEqual(['ALREADY_PRESENT', 'ALREADY_PRESENT']);
    expect(aep.flows.get('flow-stream')).toEqual(['aud-42']);
  });

  it('no destinations: nothing to do', async () => {
    const aep = new FakeAep();
    expect(await activateDestinations(event([]), taskDeps(aep, noRegistry))).toEqual({ destinations: [] });
    expect(aep.calls).toHaveLength(0);
  });

  it('an unknown dataflow: ACTIVATION_FAILED naming it and the sandbox', async () => {
    const aep = new FakeAep(['flow-stream']);
    const error = await rejection(activateDestinations(event([streaming, batch]), taskDeps(aep, noRegistry)));
    expect(error.name).toBe('ACTIVATION_FAILED');
    expect(error.message).toContain('Dataflow flow-batch was not found in sandbox "dev-sandbox"');
  });

  it('AEP refusing the selector: ACTIVATION_FAILED with its detail', async () => {
    const aep = new FakeAep(['flow-stream']);
    aep.failNext(
      'addAudienceToDataflow',
      new AepRequestError('AEP answered 400', { status: 400, detail: 'origin CUSTOM_UPLOAD not supported' }),
    );
    const error = await rejection(activateDestinations(event([streaming]), taskDeps(aep, noRegistry)));
    expect(error.name).toBe('ACTIVATION_FAILED');
    expect(error.message).toContain('origin CUSTOM_UPLOAD not supported');
    expect(error.message).toContain('flow-stream');
  });

  it('an outage propagates unmapped, for the task handler and a retry', async () => {
    const aep = new FakeAep(['flow-stream']);
    aep.failNext('addAudienceToDataflow', new AepUnavailableError('AEP answered 503', { status: 503 }));
    await expect(activateDestinations(event([streaming]), taskDeps(aep, noRegistry))).rejects.toBeInstanceOf(
      AepUnavailableError,
    );
  });
});
