/*
** federation.h: a service principal's federation policy as the text that
** creates or revokes it (federation.c), part of the "engine" layer beside
** grants.h.
**
**   databricks account service-principal-federation-policy create 1234 \
**     --json '{"oidc_policy":{"issuer":"https://...","subject":"..."}}'
**
** Workload identity federation lets a workload outside Databricks act as
** a service principal with a short-lived JWT instead of a secret: the
** account admin gives the service principal a policy naming the issuer,
** audiences and subject it accepts (and, for a self-hosted issuer, its
** public keys as jwks_json). This file writes that policy as the
** Databricks CLI command, as the REST body of the account API's POST
** .../servicePrincipals/{id}/federationPolicies, or as the CLI commands
** that revoke it. Pure: no network, no files and no
** sqlite3 values; the SQLite allocator and cJSON only. Every value that
** reaches a shell is single-quoted with ' written as '\'', and control
** characters are refused, so no input can end the command, add one, or
** break out of a comment line.
*/
#ifndef DBX_FEDERATION_H
#define DBX_FEDERATION_H

#include "dbx_int.h"

/*
** The text of dbx_federation_policy(): zSpId, the numeric id of the
** service principal (not its application id); zIssuer, the https URL the
** JWTs name as "iss"; zSubject, their "sub" (or the subject_claim's
** value); zOptions, NULL or a JSON object with audiences (a string or an
** array; when absent, account_id's value, or else none, which Databricks
** reads as the account id), subject_claim, jwks_json (JWKS text or
** object; public members only), account_id, policy_id, description,
** profile (the CLI profile, --profile), and format: "cli" (the default),
** "json" (the REST body) or "revoke". Returns SQLITE_OK and *pzOut
** (sqlite3_free), or an error in pErr naming the bad argument.
*/
int dbx_federation_policy_text(const char *zSpId, const char *zIssuer,
                               const char *zSubject, const char *zOptions,
                               char **pzOut, DbxError *pErr);

/* Appends z to p single-quoted for a POSIX shell ('\'' for a quote). */
void dbx_federation_sh_quote(DbxBuf *p, const char *z);

#endif /* DBX_FEDERATION_H */
