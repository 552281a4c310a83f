// AEP's rules for a batch destination's export settings (functions/shared/aep/batch-export.ts): each rule on its
// own, and the schedule the dataflow PATCH carries (triggerType with DAILY_FULL_EXPORT only).
import { describe, expect, it } from 'vitest';
import {
  type BatchExportRuleInput,
  batchExportProblems,
  exportSchedule,
  triggerTypeOf,
} from '../../functions/shared/aep/batch-export.ts';

const TEMPLATE = '%DESTINATION_NAME%_%SEGMENT_ID%';

function full(schedule: Partial<BatchExportRuleInput['schedule']>): BatchExportRuleInput {
  return {
    exportMode: 'DAILY_FULL_EXPORT',
    schedule: { frequency: 'DAILY', startDate: '2026-12-01', ...schedule },
    filenameTemplate: TEMPLATE,
  };
}

function incremental(schedule: Partial<BatchExportRuleInput['schedule']>): BatchExportRuleInput {
  return { ...full(schedule), exportMode: 'FIRST_FULL_THEN_INCREMENTAL' };
}

const paths = (settings: BatchExportRuleInput) =>
  batchExportProblems(settings).map((problem) => problem.path.join('.'));

describe('batchExportProblems', () => {
  it('takes the documented combinations', () => {
    expect(batchExportProblems(full({ startTime: '20:00' }))).toEqual([]);
    expect(batchExportProblems(full({ triggerType: 'SCHEDULED', startTime: '00:00' }))).toEqual([]);
    expect(batchExportProblems(full({ triggerType: 'AFTER_SEGMENT_EVAL' }))).toEqual([]);
    expect(batchExportProblems(full({ frequency: 'ONCE', startTime: '23:00' }))).toEqual([]);
    for (const frequency of ['DAILY', 'EVERY_3_HOURS', 'EVERY_6_HOURS', 'EVERY_8_HOURS', 'EVERY_12_HOURS']) {
      expect(
        batchExportProblems(incremental({ frequency, startTime: '20:00', endDate: '2026-12-01' })),
      ).toEqual([]);
    }
  });

  it('needs startTime except with DAILY_FULL_EXPORT after segmentation, where it is refused', () => {
    expect(paths(incremental({}))).toEqual(['schedule.startTime']);
    expect(paths(full({}))).toEqual(['schedule.startTime']);
    expect(paths(full({ triggerType: 'SCHEDULED' }))).toEqual(['schedule.startTime']);
    expect(paths(full({ triggerType: 'AFTER_SEGMENT_EVAL', startTime: '20:00' }))).toEqual([
      'schedule.startTime',
    ]);
    expect(batchExportProblems(incremental({}))[0]?.rule).toBe(
      'startTime (a UTC hour HH:00) is required: only DAILY_FULL_EXPORT with triggerType AFTER_SEGMENT_EVAL goes without one',
    );
  });

  it('refuses a triggerType with FIRST_FULL_THEN_INCREMENTAL, whichever', () => {
    expect(paths(incremental({ triggerType: 'SCHEDULED', startTime: '20:00' }))).toEqual([
      'schedule.triggerType',
    ]);
    // AFTER_SEGMENT_EVAL does not excuse the startTime of an incremental export.
    expect(paths(incremental({ triggerType: 'AFTER_SEGMENT_EVAL' }))).toEqual([
      'schedule.triggerType',
      'schedule.startTime',
    ]);
  });

  it('checks the frequency against the export mode', () => {
    expect(paths(full({ frequency: 'EVERY_6_HOURS', startTime: '20:00' }))).toEqual(['schedule.frequency']);
    expect(paths(incremental({ frequency: 'ONCE', startTime: '20:00' }))).toEqual(['schedule.frequency']);
    expect(paths(full({ frequency: 'WEEKLY', startTime: '20:00' }))).toEqual(['schedule.frequency']);
  });

  it('checks the time, the dates and the template', () => {
    expect(paths(full({ startTime: '20:30' }))).toEqual(['schedule.startTime']);
    expect(paths(full({ startTime: '24:00' }))).toEqual(['schedule.startTime']);
    expect(paths(full({ startTime: '20:00', startDate: '2026-02-31' }))).toEqual(['schedule.startDate']);
    expect(paths(full({ startTime: '20:00', endDate: '2026-11-30' }))).toEqual(['schedule.endDate']);
    expect(paths(full({ startTime: '20:00', endDate: '2026-13-01' }))).toEqual(['schedule.endDate']);
    expect(paths(full({ frequency: 'ONCE', startTime: '20:00', endDate: '2026-12-02' }))).toEqual([
      'schedule.endDate',
    ]);
    expect(paths({ ...full({ startTime: '20:00' }), filenameTemplate: '%SEGMENT_ID%' })).toEqual([
      'filenameTemplate',
    ]);
  });
});

describe('exportSchedule (what the dataflow PATCH carries)', () => {
  it('gives DAILY_FULL_EXPORT its triggerType, SCHEDULED when none is set', () => {
    expect(exportSchedule(full({ startTime: '20:00' }))).toEqual({
      frequency: 'DAILY',
      startDate: '2026-12-01',
      startTime: '20:00',
      triggerType: 'SCHEDULED',
    });
    expect(exportSchedule(full({ triggerType: 'AFTER_SEGMENT_EVAL' }))).toEqual({
      frequency: 'DAILY',
      startDate: '2026-12-01',
      triggerType: 'AFTER_SEGMENT_EVAL',
    });
    expect(triggerTypeOf(full({}))).toBe('SCHEDULED');
  });

  it('never gives FIRST_FULL_THEN_INCREMENTAL a triggerType', () => {
    const settings = incremental({ triggerType: 'SCHEDULED', startTime: '20:00', endDate: '2027-01-01' });
    expect(exportSchedule(settings)).toEqual({
      frequency: 'DAILY',
      startDate: '2026-12-01',
      startTime: '20:00',
      endDate: '2027-01-01',
    });
    expect(triggerTypeOf(settings)).toBeUndefined();
  });
});
