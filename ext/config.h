/*
** config.h: settings and where they come from (config.c).
**
** Resolution follows Databricks unified client auth:
** explicit options > per-connection defaults (dbx_config()) > DATABRICKS_*
** environment variables > a profile of ~/.databrickscfg (or
** DATABRICKS_CONFIG_FILE), with the rule that the file is not read when no
** profile is named and a host or an auth setting is already set.
**
** Keys are the config-file names: host, token, client_id, client_secret,
** warehouse_id (also "warehouse": an id or an HTTP path
** /sql/1.0/warehouses/<id>), catalog, schema, profile, config_file,
** auth_type, account_id, workspace_id, oidc_token_env, oidc_token_filepath,
** and the settings of auth.c and http.c.
*/
#ifndef DBX_CONFIG_H
#define DBX_CONFIG_H

#include "dbx_int.h"

/* Where a value came from, strongest first. */
typedef enum DbxSource {
  DBX_SRC_UNSET = 0,
  DBX_SRC_OPTION,  /* a vtab argument or a JSON options argument */
  DBX_SRC_SESSION, /* dbx_config(key, value) on this connection */
  DBX_SRC_ENV,     /* a DATABRICKS_* environment variable */
  DBX_SRC_PROFILE, /* a profile of the config file */
  DBX_SRC_DEFAULT  /* built in */
} DbxSource;

typedef struct DbxConfig DbxConfig;

int dbx_config_new(DbxConfig **ppOut);
void dbx_config_free(DbxConfig *p);

/* A deep copy (secrets included), for a client that outlives its source. */
int dbx_config_dup(const DbxConfig *p, DbxConfig **ppOut);

/*
** Sets zKey from eSrc. A secret key (token, client_secret, private key
** settings) given as a literal with DBX_SRC_OPTION or DBX_SRC_SESSION is
** refused with an error that says to use env:NAME, file:PATH, a profile or
** the environment; "env:NAME" and "file:PATH" values are read when the
** config is resolved. An unknown key is an error naming the known ones.
*/
int dbx_config_set(DbxConfig *p, const char *zKey, const char *zValue,
                   DbxSource eSrc, DbxError *pErr);

/*
** Fills what is still unset from the environment and the config file,
** normalises the host, picks the auth type and validates (e.g. "more than
** one authorization method configured"). After success the config is
** read-only. Returns SQLITE_OK or an error code with pErr set.
*/
int dbx_config_resolve(DbxConfig *p, DbxError *pErr);

/* The value of zKey, or NULL when unset (borrowed). */
const char *dbx_config_get(const DbxConfig *p, const char *zKey);
DbxSource dbx_config_source(const DbxConfig *p, const char *zKey);

/*
** A JSON object of the effective settings, each with its value ("***" for
** secrets) and where it came from: {"host":{"value":..,"source":"env"},..}.
** Returns a string from sqlite3_malloc, or NULL when out of memory.
*/
char *dbx_config_json(const DbxConfig *p);

/*
** A key that identifies the workspace and identity (host, auth type, client
** id, token digest ...) so connections with the same identity can share a
** token cache. Returns a string from sqlite3_malloc.
*/
char *dbx_config_identity(const DbxConfig *p);

/*
** Extensions (TRANSPORT). Besides the keys above, these settings exist
** (each also as DATABRICKS_<KEY upper-cased> in the environment):
**   scopes                       OAuth scopes (default all-apis)
**   http_timeout_seconds         inactivity time-out of a transfer (60)
**   connect_timeout_seconds      TCP + TLS connect time-out (30)
**   retry_timeout_seconds        overall retry budget of one call (300)
**   ca_bundle                    CA bundle file for TLS (system store)
** and those of auth_type "oidc-self-signed", where the extension mints the
** subject JWT itself (a self-hosted issuer) and exchanges it (RFC 8693):
**   oidc_private_key_file        PEM private key, RSA (RS256) or P-256 (ES256)
**   oidc_issuer                  "iss" claim; the federation policy's issuer
**   oidc_subject                 "sub" claim; the policy's subject
**   oidc_audience                "aud" claim (default: the token endpoint,
**                                dbx_config_token_url())
**   oidc_key_id                  "kid" header, matching a key of the JWKS
**   oidc_token_lifetime_seconds  "exp" - "iat" of a minted JWT (300)
** client_id names the service principal (SP federation); without it the
** exchange uses account-wide federation. client_id with
** oidc_private_key_file is not a conflict of methods.
*/

/*
** dbx_config_identity() also covers the HTTP settings (time-outs, CA
** bundle, workspace id), so a cache of clients keyed by it never hands out
** a client with other settings. The token cache of auth.c is keyed by this
** narrower identity (workspace and credentials only), so such clients
** still share one token. Returns a string from sqlite3_malloc.
*/
char *dbx_config_auth_identity(const DbxConfig *p);

/*
** The OAuth token endpoint of the configured host: <host>/oidc/v1/token,
** or <host>/oidc/accounts/<account_id>/v1/token on an accounts host. It is
** also the default oidc_audience of oidc-self-signed, which
** dbx_config_resolve() then stores with DBX_SRC_DEFAULT. Returns a string
** from sqlite3_malloc, or NULL without a host or memory.
*/
char *dbx_config_token_url(const DbxConfig *p);

/* Size limits of the files read for configuration and for secrets. */
#define DBX_CONFIG_FILE_MAX ((size_t)1 << 20)  /* ~/.databrickscfg */
#define DBX_SECRET_FILE_MAX ((size_t)64 << 10) /* keys, tokens, file: */

/*
** Reads the whole of zPath, which must be a regular file (a symlink to one
** is fine) of at most nMax bytes; a FIFO, a device or a directory is
** refused without blocking. zWhat names the file in errors ("config
** file"). Returns SQLITE_OK with *pzOut (NUL-terminated; the file may hold
** NULs, so *pnOut, which may be NULL, is its length; wipe it with
** OPENSSL_cleanse when it may hold a secret, then sqlite3_free it).
** Returns SQLITE_NOTFOUND when the file does not exist and another code
** when it cannot be read; pErr is then set (with SQLITE_ERROR for a missing
** file, so callers that need it can return pErr->rc).
*/
int dbx_config_read_file(const char *zPath, size_t nMax, const char *zWhat,
                         char **pzOut, size_t *pnOut, DbxError *pErr);

/* True when zKey is a setting dbx_config_set() knows. */
int dbx_config_is_key(const char *zKey);

/* Writes the known setting names, comma separated, into zOut[0..nOut). */
void dbx_config_known_keys(char *zOut, size_t nOut);

/* True when zKey is a secret (token, client_secret). */
int dbx_config_is_secret(const char *zKey);

/* The value of an integer setting, or iDefault when unset. */
long dbx_config_get_int(const DbxConfig *p, const char *zKey, long iDefault);

/*
** SQLITE_OK when zKey has a non-empty value; otherwise an error naming the
** setting and every place it can be set ("no warehouse_id configured: set
** warehouse= in the options, ... DATABRICKS_WAREHOUSE_ID ...").
*/
int dbx_config_require(const DbxConfig *p, const char *zKey, DbxError *pErr);

#endif /* DBX_CONFIG_H */
