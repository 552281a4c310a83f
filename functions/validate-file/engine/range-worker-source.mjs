// Starts a range worker from the TypeScript sources (tests, the CLI, the local runner's source mode): tsx's
// hooks are registered for this thread, since the parent's (the CLI's or vitest's) do not reach a worker.
// Plain JavaScript, so that it starts without a loader. A bundled function starts its own bundle instead.
const { register } = await import('tsx/esm/api');
register();
await import('./range-worker.ts');
