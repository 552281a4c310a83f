#!/usr/bin/env bash
# Synthesizes the stack as `cdk synth` does (bundling included) and lints the template with cfn-lint and the
# repository's .cfnlintrc; any finding, or a missing cfn-lint, fails. Extra arguments go to cfn-lint
# (e.g. `npm run lint:cfn -- --format json`).
set -euo pipefail
cd "$(dirname "$0")/.."

# cfn-lint is a Python tool, not an npm package: CI must have it installed, and a missing one must fail
# loudly rather than pass by skipping the check.
if ! command -v cfn-lint >/dev/null 2>&1; then
  echo "cfn-lint: command not found. Install it (pip install cfn-lint==1.51.0); the template is not linted." >&2
  exit 1
fi

stack_name=$(node -e '
  const name = JSON.parse(require("fs").readFileSync("cdk.json", "utf8")).context?.pipeline?.stackName;
  if (typeof name !== "string" || name === "") process.exit(1);
  console.log(name);
') || { echo "cfn-lint.sh: cdk.json has no context.pipeline.stackName" >&2; exit 1; }
template="cdk.out/${stack_name}.template.json"

# Removed first so that a synth which writes nothing cannot leave a stale template to be linted.
rm -f "$template"
CDK_DISABLE_VERSION_CHECK=1 npx cdk synth --quiet
if [ ! -f "$template" ]; then
  echo "cfn-lint.sh: cdk synth did not write $template" >&2
  exit 1
fi

echo "$(cfn-lint --version) on $template"
cfn-lint --config-file .cfnlintrc "$@" -- "$template"
echo "cfn-lint: no findings"
