// What the tests that drive `serve` with S3 clients share: a served drop zone on a free loopback port, in a
// temporary state folder, with an SDK client on it and the lines it printed; stopped and removed after.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { GetObjectCommand, ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import { type Serving, startServe } from '../../local/serve.ts';

export const SERVE_BUCKET = 'aep-audience-local';

export interface ServeSession {
  dir: string;
  serving: Serving;
  s3: S3Client;
  /** What serve printed, in order. */
  lines: string[];
  keys(prefix: string): Promise<string[]>;
  text(key: string): Promise<string>;
  close(): Promise<void>;
}

export async function startServeSession(name: string): Promise<ServeSession> {
  const dir = mkdtempSync(path.join(tmpdir(), `aep-${name}-`));
  const lines: string[] = [];
  const serving = await startServe({
    stateDir: path.join(dir, 'state'),
    host: '127.0.0.1',
    port: 0,
    timeScale: 2000,
    print: (line) => lines.push(line),
  });
  const s3 = new S3Client({
    endpoint: serving.url,
    region: 'us-east-1',
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
  });
  return {
    dir,
    serving,
    s3,
    lines,
    async keys(prefix) {
      const page = await s3.send(new ListObjectsV2Command({ Bucket: SERVE_BUCKET, Prefix: prefix }));
      return (page.Contents ?? []).map((o) => o.Key!);
    },
    async text(key) {
      const object = await s3.send(new GetObjectCommand({ Bucket: SERVE_BUCKET, Key: key }));
      return object.Body!.transformToString('utf8');
    },
    async close() {
      await serving.stop();
      s3.destroy();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
