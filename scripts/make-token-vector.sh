#!/usr/bin/env bash
# Regenerates test/fixtures/eks-token-vector.json: EKS tokens printed by the real AWS CLI
# (`aws eks get-token`) with the inputs that went into them. The CLI picks the signing time
# itself, so the X-Amz-Date is read back from each token. The credentials are the local stack's
# fake test identities (infra/local-stack/identities.ts), never real ones.
set -euo pipefail
cd "$(dirname "$0")/.."

aws_cli="${AWS_CLI:-.tools/bin/aws}"
out="test/fixtures/eks-token-vector.json"
region="us-east-1"
cluster="local-cluster"
access_key="AKIALOCALADMIN000001"
secret_key="local-admin-secret-key-0000000000000000"
session_token="FQoGZXIvYXdzEBYaDLocalSessionToken+/With=Padding//"

# A clean environment: no profile, no config file, no instance metadata lookups, the regional STS
# endpoint (CLI v2's default, stated so a v1 CLI would behave the same).
run_cli() {
  env -i PATH="/usr/bin:/bin" HOME="$(mktemp -d)" \
    AWS_ACCESS_KEY_ID="$access_key" AWS_SECRET_ACCESS_KEY="$secret_key" \
    AWS_EC2_METADATA_DISABLED=true AWS_STS_REGIONAL_ENDPOINTS=regional \
    "$@" "$aws_cli" eks get-token --cluster-name "$cluster" --region "$region" --output json
}

plain="$(run_cli)"
with_session="$(run_cli AWS_SESSION_TOKEN="$session_token")"
cli_version="$("$aws_cli" --version 2>&1)"

PLAIN="$plain" WITH_SESSION="$with_session" CLI_VERSION="$cli_version" REGION="$region" \
  CLUSTER="$cluster" ACCESS_KEY="$access_key" SECRET_KEY="$secret_key" \
  SESSION_TOKEN="$session_token" node --input-type=module -e '
const e = process.env;
const toVector = (name, output, sessionToken) => {
  const token = JSON.parse(output).status.token;
  const url = new URL(Buffer.from(token.slice("k8s-aws-v1.".length), "base64url").toString());
  return {
    name,
    accessKeyId: e.ACCESS_KEY,
    secretAccessKey: e.SECRET_KEY,
    ...(sessionToken ? { sessionToken } : {}),
    region: e.REGION,
    clusterName: e.CLUSTER,
    amzDate: url.searchParams.get("X-Amz-Date"),
    token,
  };
};
const fixture = {
  generatedBy: "scripts/make-token-vector.sh",
  cliVersion: e.CLI_VERSION.trim(),
  vectors: [
    toVector("long-term credentials", e.PLAIN),
    toVector("temporary credentials with a session token", e.WITH_SESSION, e.SESSION_TOKEN),
  ],
};
process.stdout.write(`${JSON.stringify(fixture, null, 2)}\n`);
' >"$out"
echo "wrote $out"
