// One Lambda execution environment in a worker thread: the Node.js runtime's init phase (load the code once),
// then one invocation at a time, with its errors shaped as the runtime interface client shapes them.
// Plain JavaScript, so that a worker starts without any loader, whatever the parent registered.
import { existsSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { parentPort, workerData } from 'node:worker_threads';

/** @type {{ code: 'source' | 'bundle', entry: string, exportName: string, handlerString: string, sourceMaps: boolean }} */
const config = workerData;
const port = parentPort;
if (!port) throw new Error('lambda-worker.mjs runs as a worker thread of LambdaPool');

const initStarted = performance.now();

// Output goes to the parent on the same port as the results, so every line an invocation wrote arrives
// before its result (the Worker's own stdout stream travels on another port and lags behind).
function capture(stream, name) {
  stream.write = (chunk, encoding, callback) => {
    const text = typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('utf8');
    port.postMessage({ type: 'output', stream: name, text });
    const done = typeof encoding === 'function' ? encoding : callback;
    if (typeof done === 'function') process.nextTick(done);
    return true;
  };
}
capture(process.stdout, 'stdout');
capture(process.stderr, 'stderr');

// The runtime's error document (its formatError): the error's own name and message, `typeof` for a non-Error.
function formatError(error) {
  if (error instanceof Error) {
    return {
      errorType: String(error.name),
      errorMessage: String(error.message),
      trace: typeof error.stack === 'string' ? error.stack.split('\n') : [],
    };
  }
  return { errorType: typeof error, errorMessage: String(error), trace: [] };
}

/** A failure the runtime itself names (Runtime.ImportModuleError, …), carrying its error document. */
class RuntimeFailure {
  constructor(errorType, errorMessage, stack) {
    this.document = { errorType, errorMessage, trace: typeof stack === 'string' ? stack.split('\n') : [] };
  }
}

function documentOf(error) {
  return error instanceof RuntimeFailure ? error.document : formatError(error);
}

/** The invocation being handled, so that an uncaught exception can be reported against it. */
let current;

// As the runtime does: an uncaught exception or unhandled rejection fails the invocation in flight with that
// error, then the runtime exits (129 and 128), so the next invocation gets a new environment.
process.on('uncaughtException', (error) => {
  process.stderr.write(`Uncaught Exception\t${JSON.stringify(formatError(error))}\n`);
  if (current)
    port.postMessage({ type: 'error', requestId: current, error: formatError(error), fatal: true });
  process.exit(129);
});
process.on('unhandledRejection', (reason) => {
  const error = new RuntimeFailure('Runtime.UnhandledPromiseRejection', String(reason), reason?.stack)
    .document;
  process.stderr.write(`Unhandled Promise Rejection\t${JSON.stringify(error)}\n`);
  if (current) port.postMessage({ type: 'error', requestId: current, error, fatal: true });
  process.exit(128);
});

/** Loads the function's module as the runtime's module loader does, with its error types. */
async function loadHandler() {
  if (config.sourceMaps) process.setSourceMapsEnabled(true);
  if (!existsSync(config.entry)) {
    const error = new Error(
      `Cannot find module '${path.basename(config.entry, path.extname(config.entry))}'`,
    );
    throw new RuntimeFailure('Runtime.ImportModuleError', String(error), error.stack);
  }
  let module;
  try {
    if (config.code === 'source') {
      // tsx's ESM hooks, registered for this thread: the parent's (CLI or vitest) do not reach a worker.
      const { register } = await import('tsx/esm/api');
      register();
    }
    module = await import(pathToFileURL(config.entry).href);
  } catch (error) {
    if (error instanceof SyntaxError) {
      throw new RuntimeFailure('Runtime.UserCodeSyntaxError', String(error), error.stack);
    }
    if (error instanceof Error && /** @type {{ code?: string }} */ (error).code === 'MODULE_NOT_FOUND') {
      throw new RuntimeFailure('Runtime.ImportModuleError', String(error), error.stack);
    }
    throw error;
  }
  const handler = module[config.exportName] ?? module.default?.[config.exportName];
  if (handler === undefined) {
    throw new RuntimeFailure(
      'Runtime.HandlerNotFound',
      `${config.handlerString} is undefined or not exported`,
    );
  }
  if (typeof handler !== 'function') {
    throw new RuntimeFailure('Runtime.HandlerNotFound', `${config.handlerString} is not a function`);
  }
  if (handler.length >= 3) {
    throw new RuntimeFailure(
      'Runtime.CallbackHandlerDeprecated',
      'ERROR: AWS Lambda has removed support for callback-based function handlers starting with Node.js 24. ' +
        'You need to modify this function to use a supported handler signature to use Node.js 24 or later. ' +
        'For more information see https://docs.aws.amazon.com/lambda/latest/dg/nodejs-handler.html.',
    );
  }
  return handler;
}

function contextFor(message) {
  const env = process.env;
  return {
    functionName: env.AWS_LAMBDA_FUNCTION_NAME,
    functionVersion: env.AWS_LAMBDA_FUNCTION_VERSION,
    memoryLimitInMB: env.AWS_LAMBDA_FUNCTION_MEMORY_SIZE,
    logGroupName: env.AWS_LAMBDA_LOG_GROUP_NAME,
    logStreamName: env.AWS_LAMBDA_LOG_STREAM_NAME,
    invokedFunctionArn: message.invokedFunctionArn,
    awsRequestId: message.requestId,
    xRayTraceId: message.traceId,
    // The Node.js 24 runtime has no callbacks any more; kept because @types/aws-lambda's Context declares it.
    callbackWaitsForEmptyEventLoop: true,
    getRemainingTimeInMillis: () => message.deadlineMs - Date.now(),
  };
}

async function invoke(handler, message) {
  current = message.requestId;
  // The runtime moves the invocation's trace header into the environment, where the SDK and Powertools read it.
  process.env._X_AMZN_TRACE_ID = message.traceId;
  try {
    const result = await handler(JSON.parse(message.payload), contextFor(message));
    let body;
    try {
      body = JSON.stringify(result === undefined ? null : result);
    } catch {
      throw new RuntimeFailure('Runtime.JSONStringifyError', 'Unable to stringify response body');
    }
    port.postMessage({ type: 'result', requestId: message.requestId, body });
  } catch (error) {
    port.postMessage({ type: 'error', requestId: message.requestId, error: documentOf(error) });
  } finally {
    current = undefined;
  }
}

try {
  const handler = await loadHandler();
  port.on('message', (message) => {
    if (message.type === 'invoke') void invoke(handler, message);
  });
  port.postMessage({ type: 'ready', initMs: performance.now() - initStarted });
} catch (error) {
  const document = documentOf(error);
  process.stderr.write(`Init Error\t${JSON.stringify(document)}\n`);
  port.postMessage({ type: 'init-error', error: document });
}
