// Request-body checks of the AEP simulator, per aep-api.md §4.1/§4.8 (create) and §5 (dataflow selectors).
import { AEP_FIELD_TYPES } from '../../functions/shared/aep/types.ts';

class BadRequest extends Error {
  readonly status = 400;
  readonly body: unknown;
  constructor(detail: string, flow = false) {
    super(detail);
    this.body = flow
      ? { errorMessage: detail, errorDetails: 'Bad Request' }
      : {
          type: 'https://ns.adobe.com/aep/errors/100910-400',
          title: 'BAD_REQUEST',
          status: 400,
          detail,
          report: { code: '100910-400' },
        };
  }
}

export { BadRequest };

type Json = Record<string, unknown>;

const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Validates a create body; nested `sourceSpec.params` (V2b+) and flat `sourceSpec` (older docs) both accepted. */
export function validateCreateBody(
  raw: unknown,
  baseConnectionIds: Set<string>,
): { name: string; sourcePath: string; details: Json } {
  if (!isObject(raw)) throw new BadRequest('the body must be a JSON object');
  const name = raw.name;
  if (typeof name !== 'string' || name.trim() === '') throw new BadRequest('name is required');
  const fields = raw.fields;
  if (!Array.isArray(fields) || fields.length < 1 || fields.length > 41) {
    throw new BadRequest('fields must list 1 to 41 fields');
  }
  fields.forEach((f, i) => {
    if (!isObject(f) || typeof f.name !== 'string' || f.name === '')
      throw new BadRequest(`fields[${i}].name is required`);
    if (!(AEP_FIELD_TYPES as readonly string[]).includes(String(f.type))) {
      throw new BadRequest(`fields[${i}].type must be one of ${AEP_FIELD_TYPES.join(', ')}`);
    }
  });
  if (!fields.some((f) => isObject(f) && typeof f.identityNs === 'string' && f.identityNs !== '')) {
    throw new BadRequest('fields must include at least one identity field with identityNs');
  }
  const spec = raw.sourceSpec;
  if (!isObject(spec)) throw new BadRequest('sourceSpec is required');
  const params = isObject(spec.params) ? spec.params : spec;
  const path = params.path;
  if (typeof path !== 'string' || path === '') throw new BadRequest('sourceSpec.params.path is required');
  if (/\s/.test(path)) throw new BadRequest('sourceSpec.params.path must not contain spaces');
  if (path.endsWith('/')) throw new BadRequest('sourceSpec.params.path must not end with "/"');
  if (params.type !== undefined && params.type !== 'file' && params.type !== 'folder') {
    throw new BadRequest('sourceSpec.params.type must be file or folder');
  }
  if (params.sourceType !== undefined && params.sourceType !== 'Cloud Storage') {
    throw new BadRequest('sourceSpec.params.sourceType must be "Cloud Storage"');
  }
  if (!['S3', 'DLZ', 'GCS', 'Azure', 'SFTP'].includes(String(params.cloudType))) {
    throw new BadRequest('sourceSpec.params.cloudType is required: S3, DLZ, GCS, Azure or SFTP');
  }
  if (['S3', 'GCS', 'SFTP'].includes(String(params.cloudType))) {
    if (typeof params.baseConnectionId !== 'string')
      throw new BadRequest('sourceSpec.params.baseConnectionId is required');
    if (!baseConnectionIds.has(params.baseConnectionId)) {
      throw Object.assign(new BadRequest(''), {
        status: 422,
        body: {
          type: 'https://ns.adobe.com/aep/errors/100960-422',
          title: 'UNPROCESSABLE_ENTITY',
          status: 422,
          detail: `base connection ${params.baseConnectionId} does not exist`,
          report: { code: '100960-422' },
        },
      });
    }
  }
  let ttl = raw.ttlInDays ?? 30;
  if (typeof ttl === 'string' && /^\d+$/.test(ttl)) ttl = Number(ttl);
  if (typeof ttl !== 'number' || !Number.isInteger(ttl) || ttl < 1 || ttl > 90) {
    throw new BadRequest('ttlInDays must be a whole number from 1 to 90');
  }
  if (raw.originName !== 'CUSTOM_UPLOAD') throw new BadRequest('originName must be CUSTOM_UPLOAD');
  if (raw.audienceType !== undefined && raw.audienceType !== 'people')
    throw new BadRequest('audienceType must be people');
  if ('differentialIngestion' in raw) throw new BadRequest('differentialIngestion is not a request field');
  return { name, sourcePath: path, details: { ...raw, ttlInDays: ttl } };
}

const FULL = ['ONCE', 'DAILY'];
const INCREMENTAL = ['DAILY', 'EVERY_3_HOURS', 'EVERY_6_HOURS', 'EVERY_8_HOURS', 'EVERY_12_HOURS'];
const DATE = /^\d{4}-\d{2}-\d{2}$/;

/** The inner selector value of a dataflow PATCH; batch flows need the file-export settings. */
export function validateSelector(
  raw: unknown,
  kind: 'streaming' | 'batch',
  audienceExists: (id: string) => boolean,
): Json {
  if (!isObject(raw) || raw.type !== 'PLATFORM_SEGMENT' || !isObject(raw.value)) {
    throw new BadRequest('a selector is {"type":"PLATFORM_SEGMENT","value":{"id":…}}', true);
  }
  const value = raw.value;
  if (typeof value.id !== 'string' || !audienceExists(value.id)) {
    throw new BadRequest(`segment ${String(value.id)} does not exist`, true);
  }
  if (kind === 'streaming') return value;
  const template = String(value.filenameTemplate ?? '');
  if (!template.includes('%DESTINATION_NAME%') || !template.includes('%SEGMENT_ID%')) {
    throw new BadRequest('filenameTemplate must contain %DESTINATION_NAME% and %SEGMENT_ID%', true);
  }
  const mode = value.exportMode;
  if (mode !== 'DAILY_FULL_EXPORT' && mode !== 'FIRST_FULL_THEN_INCREMENTAL') {
    throw new BadRequest('exportMode must be DAILY_FULL_EXPORT or FIRST_FULL_THEN_INCREMENTAL', true);
  }
  const schedule = value.schedule;
  if (!isObject(schedule)) throw new BadRequest('schedule is required for file-based destinations', true);
  const frequencies = mode === 'DAILY_FULL_EXPORT' ? FULL : INCREMENTAL;
  if (!frequencies.includes(String(schedule.frequency))) {
    throw new BadRequest(`schedule.frequency must be one of ${frequencies.join(', ')} with ${mode}`, true);
  }
  if (!DATE.test(String(schedule.startDate)))
    throw new BadRequest('schedule.startDate must be YYYY-MM-DD', true);
  if (schedule.endDate !== undefined && !DATE.test(String(schedule.endDate))) {
    throw new BadRequest('schedule.endDate must be YYYY-MM-DD', true);
  }
  if (schedule.frequency === 'ONCE' && schedule.endDate !== undefined)
    throw new BadRequest('no endDate with ONCE', true);
  const trigger = schedule.triggerType ?? 'SCHEDULED';
  if (
    mode === 'DAILY_FULL_EXPORT' &&
    trigger === 'SCHEDULED' &&
    !/^([01]\d|2[0-3]):00$/.test(String(schedule.startTime))
  ) {
    throw new BadRequest('schedule.startTime must be HH:00 (UTC) for a scheduled export', true);
  }
  if (trigger === 'AFTER_SEGMENT_EVAL' && schedule.startTime !== undefined) {
    throw new BadRequest('no startTime with triggerType AFTER_SEGMENT_EVAL', true);
  }
  return value;
}
