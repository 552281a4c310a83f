// The names the local target gives the stack's resources: the drop bucket, the registry table, the state machine.
import { LOCAL_ACCOUNT, LOCAL_REGION, type LocalPhysicalNames } from './synthesized.ts';

export const LOCAL_BUCKET = 'aep-audience-local';
export const LOCAL_TABLE = 'aep-audience-registry';
export const LOCAL_STATE_MACHINE = 'AepAudiencePipeline';

/** What the template's references to the bucket, the table and the state machine resolve to locally. */
export const LOCAL_PHYSICAL_NAMES: LocalPhysicalNames = {
  bucketName: LOCAL_BUCKET,
  tableName: LOCAL_TABLE,
  stateMachineArn: `arn:aws:states:${LOCAL_REGION}:${LOCAL_ACCOUNT}:stateMachine:${LOCAL_STATE_MACHINE}`,
};
