// Reading a synthesized template the way the assertions need it: functions by handler, policies by role,
// and the state machine definition with its intrinsic functions resolved to readable placeholders.

// biome-ignore lint/suspicious/noExplicitAny: CloudFormation templates are untyped JSON.
export type Json = any;

/** Lambda logical id → its handler folder (from the `aep:handler` metadata). */
export function functionsByLogicalId(template: Json): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [id, resource] of Object.entries<Json>(template.Resources)) {
    const handler = resource.Metadata?.['aep:handler'];
    if (resource.Type === 'AWS::Lambda::Function' && typeof handler === 'string') {
      out[id] = handler.split('/').at(-2) ?? handler;
    }
  }
  return out;
}

/** Role logical id → handler folder of the function that runs as it. */
export function functionsByRole(template: Json): Record<string, string> {
  const byId = functionsByLogicalId(template);
  const out: Record<string, string> = {};
  for (const [id, name] of Object.entries(byId)) {
    const role = template.Resources[id].Properties.Role['Fn::GetAtt'][0] as string;
    out[role] = name;
  }
  return out;
}

/** Every Allow statement of every IAM policy, with the roles and users it is attached to. */
export function policyStatements(template: Json): { roles: string[]; users: string[]; statement: Json }[] {
  const out: { roles: string[]; users: string[]; statement: Json }[] = [];
  for (const resource of Object.values<Json>(template.Resources)) {
    if (resource.Type !== 'AWS::IAM::Policy') continue;
    const roles = (resource.Properties.Roles ?? []).map((r: Json) => r.Ref as string);
    const users = (resource.Properties.Users ?? []).map((u: Json) => u.Ref as string);
    for (const statement of resource.Properties.PolicyDocument.Statement)
      out.push({ roles, users, statement });
  }
  return out;
}

export function asArray<T>(value: T | T[]): T[] {
  return Array.isArray(value) ? value : [value];
}

/** The handler folders whose roles are allowed `action` on a resource matching `resource`. */
export function functionsAllowed(template: Json, action: string, resource: (r: Json) => boolean): string[] {
  const byRole = functionsByRole(template);
  const names = new Set<string>();
  for (const { roles, statement } of policyStatements(template)) {
    if (statement.Effect !== 'Allow' || !asArray(statement.Action).includes(action)) continue;
    if (!asArray(statement.Resource).some(resource)) continue;
    for (const role of roles) if (byRole[role]) names.add(byRole[role]);
  }
  return [...names].sort();
}

/** Flattens an intrinsic to text: `Fn::GetAtt [X, Arn]` → `<X.Arn>`, `Ref X` → `<X>`. */
export function flatten(value: Json): string {
  if (typeof value === 'string') return value;
  if (value?.['Fn::Join']) {
    const [separator, parts] = value['Fn::Join'];
    return parts.map(flatten).join(separator);
  }
  if (value?.['Fn::GetAtt']) return `<${value['Fn::GetAtt'].join('.')}>`;
  if (value?.Ref) return `<${value.Ref}>`;
  return JSON.stringify(value);
}

/** The one state machine's definition, parsed, with the Lambda ARNs as `<LogicalId.Arn>`. */
export function stateMachineDefinition(template: Json): Json {
  const machines = Object.values<Json>(template.Resources).filter(
    (r) => r.Type === 'AWS::StepFunctions::StateMachine',
  );
  if (machines.length !== 1) throw new Error(`expected one state machine, found ${machines.length}`);
  return JSON.parse(flatten(machines[0].Properties.DefinitionString));
}

export function logicalIdOfType(template: Json, type: string, idPattern: RegExp = /./): string {
  const ids = Object.entries<Json>(template.Resources)
    .filter(([id, r]) => r.Type === type && idPattern.test(id))
    .map(([id]) => id);
  if (ids.length !== 1)
    throw new Error(`expected one ${type} matching ${idPattern}, found ${ids.join(', ')}`);
  return ids[0]!;
}
