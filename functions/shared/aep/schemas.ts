// zod schemas of the AEP responses the client reads: strict on what the pipeline needs, tolerant of the rest
// (doc versions differ: docs/aep.md#where-adobes-docs-disagree).
import * as z from 'zod';
import type { OperationStatus } from './types.ts';

/** Epoch values arrive as numbers, sometimes as numeric strings. */
const epoch = z.union([
  z.number(),
  z
    .string()
    .regex(/^\d+(\.\d+)?$/)
    .transform(Number),
]);

/** SUCCESS/FAILED in any case; anything else (undocumented in-flight values) is PROCESSING. */
export function normalizeStatus(status: string | undefined): OperationStatus {
  const upper = status?.trim().toUpperCase();
  return upper === 'SUCCESS' || upper === 'FAILED' ? upper : 'PROCESSING';
}

export const imsTokenSchema = z.object({
  access_token: z.string().min(1),
  expires_in: z.union([z.number(), z.string().regex(/^\d+$/).transform(Number)]),
});

export const createAudienceResponseSchema = z.object({ operationId: z.string().min(1) });

/** extend-ttl's 200 (external-audiences.md, "extend data expiration", `.ko-KR` @3943f663): `{audienceId, name}`. */
export const extendTtlResponseSchema = z.looseObject({
  audienceId: z.string().optional(),
  name: z.string().optional(),
});

const failureText = z.union([z.string(), z.looseObject({ message: z.string().optional() })]);

export const operationSchema = z.looseObject({
  operationId: z.string().min(1),
  status: z.string().optional(),
  audienceId: z.string().optional(),
  audienceName: z.string().optional(),
  failureReason: failureText.optional(),
  errorMessage: z.string().optional(),
  message: z.string().optional(),
  error: failureText.optional(),
  errors: z.array(failureText).optional(),
});

export const runStageSchema = z.looseObject({
  stage: z.string(),
  status: z.string(),
  flowRunId: z.string().optional(),
});

export const runSchema = z.looseObject({
  audienceId: z.string().optional(),
  runId: z.string().min(1),
  status: z.string().optional(),
  dataFilterStartTime: epoch.optional(),
  dataFilterEndTime: epoch.optional(),
  createdAt: epoch.optional(),
  details: z.array(runStageSchema).optional(),
});

/** `{runs:[…]}` as documented (docs/aep.md#external-audiences); a bare array is tolerated. */
export const runListSchema = z.union([
  z.looseObject({ runs: z.array(runSchema) }),
  z.array(runSchema).transform((runs) => ({ runs })),
]);

export const audienceListingSchema = z.looseObject({
  children: z.array(z.looseObject({ id: z.string().min(1), name: z.string() })),
});

export const segmentSelectorSchema = z.looseObject({
  type: z.string().optional(),
  value: z.looseObject({ id: z.string().optional() }).optional(),
});

export const flowSchema = z.looseObject({
  id: z.string().optional(),
  etag: z.string().min(1),
  transformations: z
    .array(
      z.looseObject({
        params: z
          .looseObject({
            segmentSelectors: z
              .looseObject({ selectors: z.array(segmentSelectorSchema).optional() })
              .nullish(),
          })
          .nullish(),
      }),
    )
    .min(1),
});

export const flowListSchema = z.looseObject({ items: z.array(flowSchema).min(1) });

/**
 * A Flow Service run's errors, where the monitoring tutorial shows them (AdobeDocs/experience-platform.fr-FR
 * help/sources/tutorials/api/monitor.md: `metrics.statusSummary.errors[{code, message}]`, and per activity
 * `statusSummary.errors` and `statusSummary.extensions.errors`); the OpenAPI
 * (AdobeDocs/experience-platform-apis static/swagger-specs/flow-service.yaml, FlowRunErrorDTO) types them
 * `{code, message, format}`.
 */
const flowRunErrorSchema = z.looseObject({
  code: z.union([z.string(), z.number().transform(String)]).optional(),
  message: z.string().optional(),
});

const flowRunStatusSchema = z
  .looseObject({
    status: z.string().optional(),
    errors: z.array(flowRunErrorSchema).nullish(),
    extensions: z.looseObject({ errors: z.array(flowRunErrorSchema).nullish() }).nullish(),
  })
  .nullish();

const flowRunItemSchema = z.looseObject({
  id: z.string().min(1),
  metrics: z.looseObject({ statusSummary: flowRunStatusSchema }).nullish(),
  activities: z.array(z.looseObject({ statusSummary: flowRunStatusSchema })).nullish(),
});

/**
 * `GET /runs/{RUN_ID}` answers a FlowRunsListResponse `{items:[run]}` (flow-service.yaml, retrieveFlowRun); a
 * bare run object is tolerated.
 */
export const flowRunResponseSchema = z.union([
  z.looseObject({ items: z.array(flowRunItemSchema).min(1) }).transform((list) => list.items[0]!),
  flowRunItemSchema,
]);

export type FlowRunResponse = z.infer<typeof flowRunResponseSchema>;

export type FlowResponse = z.infer<typeof flowSchema>;
export type RunResponse = z.infer<typeof runSchema>;
export type OperationResponse = z.infer<typeof operationSchema>;
