/*
** auth.h: credential providers and the process-wide token cache (auth.c).
**
** Auth types:
**   pat               Authorization: Bearer <token>
**   oauth-m2m         client credentials at <host>/oidc/v1/token, Basic
**                     header, scope=all-apis
**   env-oidc          RFC 8693 token exchange; subject JWT from the env var
**                     oidc_token_env (default DATABRICKS_OIDC_TOKEN)
**   file-oidc         the same with the JWT read from oidc_token_filepath
**   oidc-self-signed  the same with a JWT the extension mints and signs
**                     (RS256 or ES256) from oidc_private_key_file, claims
**                     iss=oidc_issuer, sub=oidc_subject, aud=oidc_audience
**                     (default <host>/oidc/v1/token), iat, exp, jti; header
**                     kid=oidc_key_id when set, else the key's RFC 7638
**                     thumbprint, the kid dbx_jwks() publishes (jwk.h)
** The subject JWT is re-read (or re-minted) on every refresh. OAuth tokens
** live in one cache per process keyed by dbx_config_identity(), shared by
** every client with the same identity and guarded by a mutex; a token is
** refreshed at expiry - min(ttl/2, 20 min) and never used with less than
** 40 s left. Tokens and secrets are wiped when dropped.
*/
#ifndef DBX_AUTH_H
#define DBX_AUTH_H

#include "config.h"
#include "http.h"

typedef struct DbxAuth DbxAuth;

/*
** A provider for a resolved config. Nothing is sent yet. Returns SQLITE_OK
** and *ppOut (dbx_auth_free), or an error naming what is missing.
*/
int dbx_auth_new(const DbxConfig *pConfig, DbxAuth **ppOut, DbxError *pErr);
void dbx_auth_free(DbxAuth *p);

/* The auth type name for the User-Agent ("pat", "oauth-m2m", ...). */
const char *dbx_auth_type(const DbxAuth *p);

/* True when a 401 can be cured by fetching a new token (not for pat). */
int dbx_auth_can_refresh(const DbxAuth *p);

/*
** The "Authorization: <type> <token>" header line in *pzHeader (free it
** with dbx_free_secret). Fetches or refreshes the token through pHttp when
** needed; bForce refreshes even a fresh token (after a 401). Returns
** SQLITE_OK or an error (SQLITE_AUTH when the token endpoint refused).
*/
int dbx_auth_header(DbxAuth *p, DbxHttp *pHttp, int bForce, char **pzHeader,
                    DbxError *pErr);

/*
** Replaces every secret this provider knows (token, client secret, last
** subject JWT, access token) found in pErr->zMsg with "***": a last
** defence should a server echo one back.
*/
void dbx_auth_scrub(const DbxAuth *p, DbxError *pErr);

/*
** Mints a compact JWS signed with the PEM private key in zKeyFile: RS256
** for an RSA key, ES256 (raw r||s, 64 bytes) for a P-256 key. Claims iss,
** sub, aud, iat=tNow, exp=tNow+nLifetime, jti (random). zKid NULL or ""
** names the key by its RFC 7638 thumbprint (jwk.h).
** Returns SQLITE_OK and *pzJwt (dbx_free_secret), or an error.
*/
int dbx_auth_mint_jwt(const char *zKeyFile, const char *zIss, const char *zSub,
                      const char *zAud, const char *zKid, long nLifetime,
                      int64_t tNow, char **pzJwt, DbxError *pErr);

/* The claims of a subject JWT that say whom it is for; none is secret. */
typedef struct DbxJwtClaims {
  char zIss[100]; /* "iss", or "(none)" */
  char zAud[120]; /* "aud": a string, or an array joined with ", " */
  char zSub[100]; /* "sub" */
} DbxJwtClaims;

/*
** Decodes the payload of compact JWT zJwt (no signature check) into *pOut,
** each claim shortened to fit, control characters and quotes replaced by
** '?', so the result can go into a message. Returns 0, or non-zero when
** zJwt is not a JWT with a JSON object payload.
*/
int dbx_auth_jwt_claims(const char *zJwt, DbxJwtClaims *pOut);

/*
** For env-oidc and file-oidc, whose subject JWT comes from the identity
** provider: reads it as a token request would and decodes its claims into
** *pOut (for dbx_config(): its "aud" is the audience Databricks sees).
** Nothing is sent. Returns SQLITE_OK, SQLITE_NOTFOUND for other auth
** types, or an error with pErr set.
*/
int dbx_auth_subject_claims(const DbxConfig *pConfig, DbxJwtClaims *pOut,
                            DbxError *pErr);

/* base64url without padding; the result is from sqlite3_malloc. */
char *dbx_auth_base64url(const unsigned char *a, size_t n);

/* Empties the process-wide token cache (tests). Entries in use survive. */
void dbx_auth_cache_clear(void);

#endif /* DBX_AUTH_H */
