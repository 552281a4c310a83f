// The error-body parser of the AEP client: every documented body shape
// (docs/aep.md#conventions-and-error-shapes).
import { describe, expect, it } from 'vitest';
import {
  describeAepErrorBody,
  normalizeAepCode,
  parseAepErrorBody,
} from '../../functions/shared/aep/error-body.ts';

describe('parseAepErrorBody', () => {
  it.each([
    [
      'RFC-7807 with the code in type',
      { type: 'https://ns.adobe.com/aep/errors/FLOW-1439-404', title: 'Resource not found', status: 404 },
      { code: 'FLOW-1439-404', title: 'Resource not found' },
    ],
    [
      'RFC-7807 with report.code and detailed-message',
      {
        type: '/placeholder/type/uri',
        title: 'Bad',
        report: { code: '100910-400', 'detailed-message': 'no fields' },
      },
      { code: '100910', title: 'Bad', detail: 'no fields' },
    ],
    [
      'gateway {error_code: string}',
      { error_code: '401013', message: 'Oauth token is not valid' },
      { code: '401013', title: 'Oauth token is not valid' },
    ],
    [
      'gateway {error_code: number}',
      { error_code: 403025, message: 'Profile is not valid' },
      { code: '403025', title: 'Profile is not valid' },
    ],
    [
      'Flow Service {errorMessage, errorDetails}',
      { errorMessage: 'Supplied version does not match', errorDetails: 'etag' },
      { title: 'Supplied version does not match', detail: 'etag' },
    ],
    [
      'IMS OAuth error',
      { error: 'invalid_scope', error_description: 'scope is not valid' },
      { code: 'invalid_scope', detail: 'scope is not valid' },
    ],
    ['a text body', '  <html>Bad   Gateway</html> ', { detail: '<html>Bad Gateway</html>' }],
    ['no body', undefined, {}],
    ['a JSON array', [1, 2], {}],
  ])('%s', (_shape, body, expected) => {
    expect(parseAepErrorBody(body)).toEqual(expected);
  });

  it('does not mistake a type URI without a code for one', () => {
    expect(
      parseAepErrorBody({ type: '/placeholder/type/uri', title: 'BadRequestError' }).code,
    ).toBeUndefined();
  });

  it('truncates long texts', () => {
    const parsed = parseAepErrorBody({ detail: 'x'.repeat(2000) });
    expect(parsed.detail!.length).toBeLessThanOrEqual(501);
  });

  it('strips the status from numeric codes only', () => {
    expect(normalizeAepCode('100960-422')).toBe('100960');
    expect(normalizeAepCode('FLOW-1439-404')).toBe('FLOW-1439-404');
    expect(normalizeAepCode('401013')).toBe('401013');
  });

  it('joins title and detail', () => {
    expect(describeAepErrorBody({ title: 'A', detail: 'B' })).toBe('A: B');
    expect(describeAepErrorBody({ detail: 'B' })).toBe('B');
    expect(describeAepErrorBody({})).toBeUndefined();
  });
});
