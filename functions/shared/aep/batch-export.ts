// AEP's rules for the export settings of a file-based (batch) destination, in one function that the manifest
// (ValidateFile) and the stack's defaultDestinations (synth) both apply, so that a schedule AEP would refuse
// is refused before a run is spent; and the schedule the AEP client sends for them.
//
// Where the rules come from (AdobeDocs, "Add an audience to a dataflow", property table and examples):
// - AdobeDocs/experience-platform.en help/destinations/api/update-destination-dataflows.md (the localized
//   copies, e.g. AdobeDocs/experience-platform.fr-FR and .de-DE at the same path, say the same):
//   `filenameTemplate` must hold %DESTINATION_NAME% and %SEGMENT_ID%; `frequency` is ONCE or DAILY with
//   DAILY_FULL_EXPORT, DAILY or EVERY_3/6/8/12_HOURS with FIRST_FULL_THEN_INCREMENTAL; `triggerType` "is
//   required only when selecting the DAILY_FULL_EXPORT mode": AFTER_SEGMENT_EVAL runs after the daily
//   segmentation job, SCHEDULED at a fixed time ("when selecting this option, you must also add a
//   startTime"); `startTime` is otherwise "Mandatory" (every FIRST_FULL_THEN_INCREMENTAL example carries one
//   and no triggerType), and the AFTER_SEGMENT_EVAL example has none; `endDate` is "not applicable" with
//   DAILY_FULL_EXPORT + ONCE.
// - AdobeDocs/experience-platform.zh-Hans help/destinations/api/connect-activate-batch-destinations.md (newer
//   than the English copy) repeats the table and lists WEEKLY and MONTHLY as full-export frequencies too; the
//   update-destination-dataflows table does not, so they stay refused here until a sandbox shows AEP takes
//   them.
// - AdobeDocs/experience-platform.nl-NL help/destinations/api/activate-segments-file-based-destinations.md
//   (the newest copy) no longer shows a schedule: it sends readers to the API reference's patchFlowById.
// Whole UTC hours for startTime (HH:00) and endDate not before startDate are this project's reading of the
// examples (every startTime is "HH:00"), not a sentence of the docs.

export const EXPORT_MODES = ['DAILY_FULL_EXPORT', 'FIRST_FULL_THEN_INCREMENTAL'] as const;
export type ExportMode = (typeof EXPORT_MODES)[number];
export const TRIGGER_TYPES = ['SCHEDULED', 'AFTER_SEGMENT_EVAL'] as const;
export type TriggerType = (typeof TRIGGER_TYPES)[number];

export const FREQUENCIES: Record<ExportMode, readonly string[]> = {
  DAILY_FULL_EXPORT: ['ONCE', 'DAILY'],
  FIRST_FULL_THEN_INCREMENTAL: ['DAILY', 'EVERY_3_HOURS', 'EVERY_6_HOURS', 'EVERY_8_HOURS', 'EVERY_12_HOURS'],
};

/** The export settings as a manifest or cdk.json writes them (shape already checked by their schemas). */
export interface BatchExportRuleInput {
  exportMode: ExportMode;
  schedule: {
    frequency: string;
    triggerType?: TriggerType | undefined;
    startDate: string;
    endDate?: string | undefined;
    startTime?: string | undefined;
  };
  filenameTemplate: string;
}

/** One broken rule: where (relative to the settings) and what the rule says. */
export interface BatchExportProblem {
  path: string[];
  rule: string;
}

const HOUR = /^([01]\d|2[0-3]):00$/;
const DATE = /^\d{4}-\d{2}-\d{2}$/;

/** A real calendar date: Date.parse rolls 2026-02-31 over to March, a real date survives the round trip. */
function isCalendarDate(value: string): boolean {
  if (!DATE.test(value)) return false;
  const parsed = Date.parse(`${value}T00:00:00Z`);
  return !Number.isNaN(parsed) && new Date(parsed).toISOString().startsWith(value);
}

/**
 * The trigger AEP applies: with DAILY_FULL_EXPORT the one given, SCHEDULED when none is (the docs call the
 * field mandatory there, and a fixed time is what a schedule with startTime means); with
 * FIRST_FULL_THEN_INCREMENTAL none at all.
 */
export function triggerTypeOf(settings: Pick<BatchExportRuleInput, 'exportMode' | 'schedule'>) {
  return settings.exportMode === 'DAILY_FULL_EXPORT'
    ? (settings.schedule.triggerType ?? 'SCHEDULED')
    : undefined;
}

/** Every rule the settings break, in the order a person would fix them; empty when AEP should take them. */
export function batchExportProblems(settings: BatchExportRuleInput): BatchExportProblem[] {
  const problems: BatchExportProblem[] = [];
  const { exportMode, schedule } = settings;
  const add = (path: string[], rule: string) => problems.push({ path, rule });

  const template = settings.filenameTemplate;
  if (!template.includes('%DESTINATION_NAME%') || !template.includes('%SEGMENT_ID%')) {
    add(['filenameTemplate'], 'the file name template must contain %DESTINATION_NAME% and %SEGMENT_ID%');
  }
  const allowed = FREQUENCIES[exportMode];
  if (!allowed.includes(schedule.frequency)) {
    add(['schedule', 'frequency'], `with ${exportMode} the frequency must be one of ${allowed.join(', ')}`);
  }
  if (exportMode === 'FIRST_FULL_THEN_INCREMENTAL' && schedule.triggerType !== undefined) {
    add(
      ['schedule', 'triggerType'],
      'triggerType applies to DAILY_FULL_EXPORT only: FIRST_FULL_THEN_INCREMENTAL exports follow their frequency from startTime',
    );
  }
  const afterSegmentation = triggerTypeOf(settings) === 'AFTER_SEGMENT_EVAL';
  if (afterSegmentation) {
    if (schedule.startTime !== undefined) {
      add(
        ['schedule', 'startTime'],
        'DAILY_FULL_EXPORT with triggerType AFTER_SEGMENT_EVAL runs when the daily segmentation job ends: remove startTime',
      );
    }
  } else if (schedule.startTime === undefined) {
    const trigger = exportMode === 'DAILY_FULL_EXPORT' ? ' with triggerType SCHEDULED' : '';
    add(
      ['schedule', 'startTime'],
      `startTime (a UTC hour HH:00) is required${trigger}: only DAILY_FULL_EXPORT with triggerType AFTER_SEGMENT_EVAL goes without one`,
    );
  } else if (!HOUR.test(schedule.startTime)) {
    add(['schedule', 'startTime'], 'startTime must be a UTC hour HH:00');
  }
  if (!isCalendarDate(schedule.startDate)) {
    add(['schedule', 'startDate'], 'startDate must be a date YYYY-MM-DD');
  }
  if (schedule.endDate !== undefined) {
    if (exportMode === 'DAILY_FULL_EXPORT' && schedule.frequency === 'ONCE') {
      add(['schedule', 'endDate'], 'a DAILY_FULL_EXPORT with frequency ONCE takes no endDate');
    } else if (!isCalendarDate(schedule.endDate)) {
      add(['schedule', 'endDate'], 'endDate must be a date YYYY-MM-DD');
    } else if (isCalendarDate(schedule.startDate) && schedule.endDate < schedule.startDate) {
      add(['schedule', 'endDate'], 'endDate must not be before startDate');
    }
  }
  return problems;
}

/**
 * The schedule as the dataflow PATCH carries it: `triggerType` with DAILY_FULL_EXPORT only (SCHEDULED when
 * the settings name none), never with FIRST_FULL_THEN_INCREMENTAL; the other keys as given, none added.
 */
export function exportSchedule(settings: Pick<BatchExportRuleInput, 'exportMode' | 'schedule'>) {
  const { triggerType: _given, ...rest } = settings.schedule;
  const triggerType = triggerTypeOf(settings);
  return triggerType === undefined ? rest : { ...rest, triggerType };
}
