// The command line's one table: each command with its arguments, its description and the flags it takes; the
// parsing (node:util parseArgs) and the --help text are both made from it (docs/contracts.md#command-line).

export interface Flag {
  /** The long name, without `--`. */
  name: string;
  short?: string;
  type: 'string' | 'boolean';
  /** What the value stands for in the help (`URL`, `m.json`); string flags only. */
  value?: string;
  description: string;
}

export type CommandName =
  | 'run'
  | 'validate'
  | 'serve'
  | 'executions'
  | 'show'
  | 'redrive'
  | 'audiences'
  | 'keep-alive';

export interface CommandSpec {
  name: CommandName;
  /** The arguments after the command, as the usage line shows them. */
  arguments: string;
  /** Local commands run on this machine; operator commands against the deployed stack. */
  group: 'local' | 'operator';
  description: string;
  /** Every flag the command takes; any other is a usage error naming it and the command. */
  flags: readonly Flag[];
  /** It keeps state under .local/ (its help says where). */
  keepsLocalState?: boolean;
}

const flag = (name: string, value: string | undefined, description: string): Flag =>
  value === undefined ? { name, type: 'boolean', description } : { name, type: 'string', value, description };

/** Every flag, once: a command's table lists the ones it takes. */
export const FLAGS = {
  manifest: flag(
    'manifest',
    'm.json',
    "The file's manifest (docs/contracts.md#manifest). Default: <name>.manifest.json beside the CSV (or the " +
      '<name>.csv.gz, or the folder), if any. ' +
      'With several files, each uses its own sibling manifest.',
  ),
  aepUrl: flag(
    'aep-url',
    'URL',
    'Any AEP-compatible server: IMS at URL/ims/token/v3, Platform under URL/data/... Credentials from ' +
      'AEP_CLIENT_ID, AEP_CLIENT_SECRET, AEP_ORG_ID, AEP_SANDBOX_NAME, AEP_BASE_CONNECTION_ID and optionally ' +
      "AEP_SCOPES; a configured team's files use its own sandboxName and baseConnectionId (sent as " +
      'x-sandbox-name), so AEP_SANDBOX_NAME and AEP_BASE_CONNECTION_ID are needed only for the other files.',
  ),
  timeScale: flag(
    'time-scale',
    'N',
    'Simulated seconds per real second for Wait states and retries (default 1000 with the simulator, 10 with ' +
      '--aep-url).',
  ),
  s3Endpoint: flag(
    's3-endpoint',
    'URL',
    "S3 at URL instead of the embedded server, judged by that endpoint's own IAM (moto_server): the runner " +
      "creates the bucket and each function's role there, and each function signs with its role's credentials " +
      "(AssumeRole). The administrator's key comes from AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY.",
  ),
  bundles: flag(
    'bundles',
    undefined,
    "The functions' code from the bundles 'cdk synth' writes (index.mjs) instead of the TypeScript sources.",
  ),
  logLevel: flag(
    'log-level',
    'L',
    "The functions' LOG_LEVEL (DEBUG, INFO, WARN, ERROR; default the template's, INFO).",
  ),
  json: flag(
    'json',
    undefined,
    'JSON on stdout and nothing else there (run: one object per file, an array for several).',
  ),
  port: flag('port', 'N', 'The S3 port (default 4566; 0 = any free port).'),
  workers: flag(
    'workers',
    'N',
    "Threads that parse (default: this machine's cores): the file is cut into record-aligned byte ranges, " +
      'parsed in parallel and merged into exactly what one pass gives. 1 is one pass in one thread.',
  ),
  splitBytes: flag(
    'split-bytes',
    'B',
    'The size of the byte ranges (default 8 MiB); small values make many ranges of a small file, for tests.',
  ),
  host: flag('host', 'H', 'The address to listen on (default 127.0.0.1, this machine only).'),
  stack: flag(
    'stack',
    'NAME',
    "The deployed stack (default: cdk.json's pipeline.stackName, AepAudiencePipeline).",
  ),
  region: flag('region', 'R', "Its region (default: the SDK's, from AWS_REGION or the profile)."),
  status: flag('status', 'S', 'RUNNING, SUCCEEDED, FAILED, TIMED_OUT, ABORTED or PENDING_REDRIVE.'),
  since: flag('since', 'T', 'Started within a span (90m, 24h, 7d) or since a date (2026-11-28).'),
  limit: flag('limit', 'N', 'At most N (default 50).'),
  team: flag(
    'team',
    'T',
    'The team: the first folder under incoming/ (pipeline.teams in cdk.json). run drops each file under ' +
      "incoming/T/, so it takes team T's settings and sandbox; executions lists only the files under incoming/T/ " +
      "(exactly T, not every name that starts with it); audiences lists team T's, and audiences delete finds " +
      "the name in team T's sandbox.",
  ),
  asOf: flag(
    'as-of',
    'YYYY-MM-DD',
    "Run as if it were that UTC day (00:00): expiries and the day's run budget are reckoned from it.",
  ),
  yes: flag('yes', undefined, 'Do it (without it, say what would be done and change nothing).'),
  help: {
    name: 'help',
    short: 'h',
    type: 'boolean',
    description: "This text; after a command, that command's own.",
  },
} as const satisfies Record<string, Flag>;

const F = FLAGS;

export const COMMANDS: readonly CommandSpec[] = [
  {
    name: 'run',
    arguments: '<file.csv|file.csv.gz|folder>...',
    group: 'local',
    description:
      "Drops each file into the embedded S3 bucket under incoming/, which starts the same state machine that 'cdk " +
      "synth' produces, with the real Lambda handlers, against the embedded AEP simulator (or --aep-url). Prints " +
      'progress state by state and a summary. A folder (<name>.parts, or any folder: then <name> is its name) is ' +
      'dropped as a warehouse export: its files under incoming/<name>.parts/, then its completion marker (its own ' +
      '_SUCCESS or Redshift manifest, else an empty _SUCCESS), which starts one run for the audience <name>.',
    flags: [F.manifest, F.team, F.aepUrl, F.timeScale, F.s3Endpoint, F.bundles, F.logLevel, F.json, F.help],
    keepsLocalState: true,
  },
  {
    name: 'validate',
    arguments: '<file.csv | file.csv.gz | folder>',
    group: 'local',
    description:
      'Validates a file as the pipeline would, writing nothing (a dry run). A folder is read as a folder drop: ' +
      'its data files in name order as the parts of one file (markers and hidden files left out).',
    flags: [F.manifest, F.workers, F.splitBytes, F.json, F.help],
  },
  {
    name: 'serve',
    arguments: '',
    group: 'local',
    description:
      'A local drop zone: the embedded S3 server on --port, so any S3 client (aws s3 cp, rclone, an SDK) can put ' +
      'files under incoming/; each CSV (or .csv.gz, or completion marker of a <name>.parts/ folder) starts an ' +
      'execution as the EventBridge rule does in AWS, progress is ' +
      'printed as it happens, reports are read back through the same endpoint. Ctrl-C stops.',
    flags: [F.port, F.host, F.aepUrl, F.timeScale, F.logLevel, F.help],
    keepsLocalState: true,
  },
  {
    name: 'executions',
    arguments: '',
    group: 'operator',
    description:
      'Recent executions, newest first: start, status, duration, team, stage reached, audience, file.',
    flags: [F.status, F.since, F.limit, F.team, F.stack, F.region, F.json, F.help],
  },
  {
    name: 'show',
    arguments: '<execution>',
    group: 'operator',
    description:
      'One execution (name or ARN): its states in order, retries, failures, redrives, and its reports.',
    flags: [F.stack, F.region, F.json, F.help],
  },
  {
    name: 'redrive',
    arguments: '<execution>',
    group: 'operator',
    description:
      'Resumes an execution an outage stopped, at the task that failed (Step Functions redrive). Refuses one the ' +
      'file made fail: fix the file and upload it again instead.',
    flags: [F.stack, F.region, F.json, F.help],
  },
  {
    name: 'audiences',
    arguments: '[delete <name>]',
    group: 'local',
    description:
      'The audiences the pipeline created, from the local registry (or the deployed one with --stack): name, id, ' +
      "team, runs used, last run, expiry, keep-alive, destinations (--stack NAME: that stack's registry, read with the " +
      "AWS credentials; --team T: only team T's). `audiences delete <name> [--team T] --yes` removes one " +
      'from its dataflows, deletes it in AEP and marks it deleted, under its lock, through the delete-audience ' +
      'function (locally in the runner; with --stack the deployed one, by Lambda Invoke, so AEP credentials stay ' +
      'in AWS).',
    flags: [F.team, F.yes, F.aepUrl, F.stack, F.region, F.json, F.help],
    keepsLocalState: true,
  },
  {
    name: 'keep-alive',
    arguments: '',
    group: 'local',
    description:
      'Runs the KeepAlive function once against the local registry and AEP (the simulator, or --aep-url): ' +
      'kept-alive audiences expiring within keepAliveDaysBeforeExpiry are extended (extend-ttl), the others ' +
      'expiring within expiryWarningDays get one notice. Deployed, EventBridge Scheduler runs it daily.',
    flags: [F.asOf, F.aepUrl, F.json, F.help],
    keepsLocalState: true,
  },
];

/** `aep-audience` without a command: only --help. */
export const TOP_LEVEL_FLAGS: readonly Flag[] = [F.help];

export const PROGRAM_SUMMARY =
  'aep-audience: turn a customer CSV into an activated AEP external audience, on this machine.';

export const OPERATOR_NOTE =
  "Operator commands, against the deployed stack (found by its CloudFormation outputs, with the AWS SDK's " +
  'default credentials: AWS_PROFILE, environment, SSO...):';

export const LOCAL_STATE_NOTE =
  'Local state (S3 data, reports, audience registry, simulator) lives under .local/<target>/; delete that ' +
  'folder to start afresh. Each function runs in execution environments of its own with only its synthesized ' +
  'environment, and every AWS call it makes is authorized against its synthesized IAM statements and the ' +
  'resource policies, as AWS would: a refused call fails the task with AccessDenied, naming the function, the ' +
  'action and the resource.';

export const EXIT_CODES_NOTE =
  'Exit codes: 0 all succeeded / valid, 1 a pipeline failure / invalid file, 2 usage or configuration error.';

export function commandSpec(name: string): CommandSpec | undefined {
  return COMMANDS.find((command) => command.name === name);
}

/** The commands that take a flag, for a usage error that says where it belongs. */
export function commandsTaking(flagName: string): CommandName[] {
  return COMMANDS.filter((command) => command.flags.some((f) => f.name === flagName)).map((c) => c.name);
}
