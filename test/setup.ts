// Test-wide setup: the same polyfills the local runner installs, and no AWS profile or region from the host.
import '../local/polyfills.ts';

process.env.AWS_REGION ??= 'us-east-1';
process.env.AWS_ACCESS_KEY_ID ??= 'test';
process.env.AWS_SECRET_ACCESS_KEY ??= 'test';
process.env.LOG_LEVEL ??= 'WARN';
// This machine runs Node 20 on purpose (the Lambda runtime is 22); the SDK's upgrade notice is noise here.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
