#!/bin/sh
# Workload identity federation with the extension as its own issuer: an
# export job that authenticates as a service principal with a key pair, no
# OAuth secret and no PAT anywhere. The lifetime of the setup, in order:
# make a key, give the service principal a federation policy that accepts
# JWTs signed with it, grant what the job needs, run the job, revoke.
#
# This script runs each step against dbx-local (the workspace of the tests,
# whose account API answers on the workspace host). The line marked
# "Databricks:" above each local step is what you run against a real
# account and workspace instead; the SQL steps are the same.
#
# Settings (environment):
#   DATABRICKS_HOST, DATABRICKS_TOKEN   the workspace, and an admin's PAT for
#                                       the setup steps (dbx-local: its admin)
#   DATABRICKS_WAREHOUSE_ID             the SQL warehouse
#   WIF_ACCOUNT_ID                      the Databricks account id
#   WIF_SP_ID, WIF_SP_APP               the service principal: its numeric id
#                                       (for the policy) and its application
#                                       id (its OAuth client_id, for grants)
#   WIF_DIR                             where the key and the database go (.)
#   WIF_ISSUER, WIF_SUBJECT             the iss and sub of the job's JWTs
#   DBX_EXT                             the extension (./build/databricks)
set -eu
EXT=${DBX_EXT:-./build/databricks}
DIR=${WIF_DIR:-.}
KEY=$DIR/issuer.pem
DB=$DIR/etl.db
ISSUER=${WIF_ISSUER:-https://etl.example.com}
SUBJECT=${WIF_SUBJECT:-sqlite-etl:prod}
POLICY_ID=sqlite-etl
ADMIN_TOKEN=$DATABRICKS_TOKEN
# The audience of the JWTs the extension mints: the workspace token endpoint
# (oidc_audience changes it). The policy must list it.
AUDIENCE=${DATABRICKS_HOST%/}/oidc/v1/token
ACCOUNT_API=$DATABRICKS_HOST/api/2.0/accounts/$WIF_ACCOUNT_ID

# A value as an SQL string literal.
q() { printf "'%s'" "$(printf '%s' "$1" | sed "s/'/''/g")"; }
# SQL through the extension, on the job's database.
sql() { sqlite3 -bail -batch -noheader -list "$DB" ".load $EXT" "$@"; }
# The same as the service principal: the issuer's key and names only.
as_job() {
  DATABRICKS_TOKEN= DATABRICKS_CLIENT_ID=$WIF_SP_APP \
  DATABRICKS_OIDC_PRIVATE_KEY_FILE=$KEY DATABRICKS_OIDC_ISSUER=$ISSUER \
  DATABRICKS_OIDC_SUBJECT=$SUBJECT sql "$@"
}
# The account or Permissions API, as the admin (dbx-local only).
api() {
  method=$1 url=$2
  shift 2
  [ $# -eq 0 ] || set -- --data "$1"
  curl -fsS -X "$method" -H "Authorization: Bearer $ADMIN_TOKEN" \
       -H 'Content-Type: application/json' "$@" "$url"
  echo
}

echo '== 1. a key pair for the job (mode 0600; never overwritten)'
[ -f "$KEY" ] || sql "SELECT dbx_keygen($(q "$KEY"), 'ec');"
sql "SELECT dbx_jwks($(q "$KEY"));"

echo '== 2. the service principal federation policy (an account admin runs it)'
# Databricks: run the command this prints, with a profile of the account
# (not of a workspace): it holds the public key as jwks_json.
sql "SELECT dbx_federation_policy($WIF_SP_ID, $(q "$ISSUER"), $(q "$SUBJECT"),
       json_object('jwks_json', dbx_jwks($(q "$KEY")),
                   'audiences', json_array($(q "$AUDIENCE")),
                   'policy_id', '$POLICY_ID', 'profile', 'ACCOUNT'));"
POLICY=$(sql "SELECT dbx_federation_policy($WIF_SP_ID, $(q "$ISSUER"), $(q "$SUBJECT"),
       json_object('format', 'json', 'jwks_json', dbx_jwks($(q "$KEY")),
                   'audiences', json_array($(q "$AUDIENCE"))));")
api POST "$ACCOUNT_API/servicePrincipals/$WIF_SP_ID/federationPolicies?policy_id=$POLICY_ID" "$POLICY"

echo '== 3. the grants of an append job, and the warehouse'
# Databricks: an owner of the schema runs the GRANT lines of
#   SELECT dbx_grants_sql('<application id>', 'main.default', 'appender');
# in a SQL editor, then the `databricks permissions update warehouses ...`
# command of its last comment line. The staging volume must exist for its
# GRANT lines (or leave them out: what the job creates it owns).
sql "SELECT dbx_exec('CREATE VOLUME IF NOT EXISTS main.default._dbx_staging');" \
    "SELECT count(dbx_exec(json_extract(value, '\$.statement'))) AS grants
       FROM json_each(dbx_grants_sql($(q "$WIF_SP_APP"), 'main.default',
                                     'appender', '{\"format\": \"json\"}'));"
api PATCH "$DATABRICKS_HOST/api/2.0/permissions/warehouses/$DATABRICKS_WAREHOUSE_ID" \
    "{\"access_control_list\":[{\"service_principal_name\":\"$WIF_SP_APP\",\"permission_level\":\"CAN_USE\"}]}"

echo '== 4. the job: export new rows as the service principal'
# Databricks: the same; the job's settings may also live in a profile of
# ~/.databrickscfg (client_id, oidc_private_key_file, oidc_issuer,
# oidc_subject) with the host and the warehouse.
sql "CREATE TABLE IF NOT EXISTS events(id INTEGER PRIMARY KEY, kind TEXT);" \
    "INSERT INTO events(kind) VALUES ('signup'), ('checkout');"
as_job "SELECT json_extract(dbx_config(), '\$.auth_type.value') AS auth_type;" \
       "SELECT dbx_export('events', 'main.default.wif_example_events',
                          '{\"watermark\": \"id\"}') AS report;"

echo '== 5. revoke: delete the policy'
# Databricks: the commands this prints, with the account profile.
sql "SELECT dbx_federation_policy($WIF_SP_ID, $(q "$ISSUER"), $(q "$SUBJECT"),
       '{\"format\": \"revoke\", \"policy_id\": \"$POLICY_ID\", \"profile\": \"ACCOUNT\"}');"
api DELETE "$ACCOUNT_API/servicePrincipals/$WIF_SP_ID/federationPolicies/$POLICY_ID"

echo '== 6. the next run is refused, and nothing is exported'
sql "INSERT INTO events(kind) VALUES ('churn');"
if as_job "SELECT dbx_export('events', 'main.default.wif_example_events',
                             '{\"watermark\": \"id\"}');"; then
  echo 'the export ran after the policy was deleted' >&2
  exit 1
fi
sql "SELECT source, target, seq, watermark FROM dbx_export_state;"
