// Which team a file belongs to (the first folder under incoming/, when the stack configures it) and that team's
// settings, read from the functions' environment: PIPELINE_TEAMS holds, per team, the part of its cdk.json
// settings the function needs (lib/constructs/pipeline-tasks.ts), UNKNOWN_TEAMS what other files get.
import * as z from 'zod';
import { jsonEnv } from './env.ts';
import { topFolder } from './naming.ts';
import { PipelineError } from './pipeline-errors.ts';
import { destinationSchema } from './state.ts';

/** Every setting a team can carry; each function is given only the ones it uses, so all are optional here. */
export const teamRuntimeSchema = z.object({
  sandboxName: z.string().min(1).optional(),
  baseConnectionId: z.string().min(1).optional(),
  secretArn: z.string().min(1).optional(),
  defaultDestinations: z.array(destinationSchema).optional(),
  defaultTtlInDays: z.number().int().min(1).max(90).optional(),
  requireManifest: z.boolean().optional(),
  onAudienceRunLimit: z.enum(['fail', 'rollover']).optional(),
  identityNamespaces: z.record(z.string(), z.string()).optional(),
  keepAlive: z.boolean().optional(),
  hashIdentities: z.boolean().optional(),
  /** The topic the team's outcome notifications are published to, instead of the stack's. */
  topicArn: z.string().min(1).optional(),
});
export type TeamRuntimeSettings = z.infer<typeof teamRuntimeSchema>;

export type UnknownTeams = 'defaults' | 'reject';

export interface TeamsConfig {
  teams: Record<string, TeamRuntimeSettings>;
  unknownTeams: UnknownTeams;
}

/**
 * A file's team: a configured one (its settings apply over the stack's), none (the stack's settings, as
 * before teams existed), or a refusal (`unknownTeams: "reject"`).
 */
export type TeamOf =
  | { kind: 'team'; team: string; settings: TeamRuntimeSettings }
  | { kind: 'default' }
  | { kind: 'rejected'; message: string };

export const TEAMS_ENV = 'PIPELINE_TEAMS';
export const UNKNOWN_TEAMS_ENV = 'UNKNOWN_TEAMS';

/** The teams of the environment; both variables absent is a stack without teams. */
export function teamsFromEnvironment(env: NodeJS.ProcessEnv = process.env): TeamsConfig {
  const teams = z.record(z.string(), teamRuntimeSchema).safeParse(jsonEnv(env[TEAMS_ENV] ?? '{}'));
  if (!teams.success) {
    throw new PipelineError('CONFIG_INVALID', `Environment variable ${TEAMS_ENV} is invalid`);
  }
  const unknown = env[UNKNOWN_TEAMS_ENV]?.trim() || 'defaults';
  if (unknown !== 'defaults' && unknown !== 'reject') {
    throw new PipelineError(
      'CONFIG_INVALID',
      `Environment variable ${UNKNOWN_TEAMS_ENV} must be "defaults" or "reject"`,
    );
  }
  return { teams: teams.data, unknownTeams: unknown };
}

/** The team of the object `key` (any key under incoming/: a CSV, a manifest, a folder drop's marker). */
export function teamOf(key: string, config: TeamsConfig): TeamOf {
  const folder = topFolder(key);
  const settings = Object.hasOwn(config.teams, folder) ? config.teams[folder] : undefined;
  if (folder && settings) return { kind: 'team', team: folder, settings };
  if (config.unknownTeams === 'defaults') return { kind: 'default' };
  const configured = Object.keys(config.teams).sort();
  const where = folder
    ? `under incoming/${folder}/, which is not a configured team`
    : 'at the top of incoming/';
  return {
    kind: 'rejected',
    message:
      `This pipeline takes files only under a configured team's folder, and this one is ${where}; upload it ` +
      `under incoming/<team>/ for one of ${configured.length ? configured.join(', ') : '(no team is configured)'}`,
  };
}

/** The team's name, or undefined for a file that takes the stack's settings (or is refused). */
export function teamName(team: TeamOf): string | undefined {
  return team.kind === 'team' ? team.team : undefined;
}
