// A fake fetch for the AEP client's tests: checks each request against a script and answers from it.
// IMS token requests are answered from their own queue, or with fresh tokens when nothing is scripted.

export interface RecordedRequest {
  method: string;
  url: URL;
  headers: Record<string, string>;
  body: string | undefined;
}

export type ScriptedAnswer =
  | { status: number; body?: unknown; headers?: Record<string, string> }
  | { fail: 'network' | 'timeout' };

interface Step {
  method: string;
  /** Pathname the request must hit (exact string or pattern). */
  path: string | RegExp;
  answer: ScriptedAnswer;
  check: ((request: RecordedRequest) => void) | undefined;
}

export const TOKEN_PATH = '/ims/token/v3';

export class ScriptedFetch {
  readonly requests: RecordedRequest[] = [];
  readonly tokenRequests: RecordedRequest[] = [];
  /** Requests the script did not expect; tests assert it stays empty. */
  readonly problems: string[] = [];
  private readonly steps: Step[] = [];
  private readonly tokenAnswers: ScriptedAnswer[] = [];
  private issuedTokens = 0;

  constructor(private readonly tokenPrefix = 'TOKEN-MARKER-') {}

  /** Expects the next Platform request to be `method path`, answers `answer`; `check` may assert on it. */
  on(
    method: string,
    path: string | RegExp,
    answer: ScriptedAnswer,
    check?: (r: RecordedRequest) => void,
  ): this {
    this.steps.push({ method, path, answer, check });
    return this;
  }

  /** Scripts the next IMS answer instead of a fresh token. */
  onToken(answer: ScriptedAnswer): this {
    this.tokenAnswers.push(answer);
    return this;
  }

  get remaining(): number {
    return this.steps.length;
  }

  /** Platform requests to a pathname matching `path`. */
  calls(method: string, path: string | RegExp): RecordedRequest[] {
    return this.requests.filter((r) => r.method === method && matches(path, r.url.pathname));
  }

  readonly fetch: typeof fetch = async (input, init) => {
    const url = new URL(input instanceof Request ? input.url : String(input));
    const headers: Record<string, string> = {};
    new Headers(init?.headers).forEach((value, key) => {
      headers[key] = value;
    });
    const request: RecordedRequest = {
      method: init?.method ?? 'GET',
      url,
      headers,
      body: typeof init?.body === 'string' ? init.body : undefined,
    };
    if (url.pathname === TOKEN_PATH) {
      this.tokenRequests.push(request);
      this.issuedTokens++;
      const answer = this.tokenAnswers.shift() ?? {
        status: 200,
        body: {
          access_token: `${this.tokenPrefix}${this.issuedTokens}`,
          token_type: 'bearer',
          expires_in: 86399,
        },
      };
      return respond(answer);
    }
    this.requests.push(request);
    const step = this.steps.shift();
    if (!step) return this.unexpected(`unexpected ${request.method} ${url.pathname}: the script is finished`);
    if (step.method !== request.method || !matches(step.path, url.pathname)) {
      return this.unexpected(
        `expected ${step.method} ${String(step.path)}, got ${request.method} ${url.pathname}`,
      );
    }
    step.check?.(request);
    return respond(step.answer);
  };

  private unexpected(problem: string): never {
    this.problems.push(problem);
    throw new Error(problem);
  }
}

function matches(path: string | RegExp, pathname: string): boolean {
  return typeof path === 'string' ? path === pathname : path.test(pathname);
}

function respond(answer: ScriptedAnswer): Response {
  if ('fail' in answer) {
    if (answer.fail === 'timeout')
      throw new DOMException('The operation was aborted due to timeout', 'TimeoutError');
    throw new TypeError('fetch failed', { cause: new Error('connect ECONNREFUSED 127.0.0.1:9') });
  }
  const body =
    answer.body === undefined
      ? null
      : typeof answer.body === 'string'
        ? answer.body
        : JSON.stringify(answer.body);
  // 204/304 and friends may not carry a body at all.
  return new Response([204, 205, 304].includes(answer.status) ? null : body, {
    status: answer.status,
    headers: { 'content-type': 'application/json', ...answer.headers },
  });
}

/** The decoded JSON body of a recorded request. */
export function jsonOf(request: RecordedRequest | undefined): unknown {
  if (!request?.body) throw new Error('request has no body');
  return JSON.parse(request.body);
}
