/*
** federation.c: a service principal's federation policy as CLI commands
** or a REST body (see federation.h).
**
** Serves dbx_federation_policy() (fn_federation.c). The command follows
** the Databricks CLI (account service-principal-federation-policy create
** SERVICE_PRINCIPAL_ID [--policy-id ID] --json POLICY), whose --json is the
** FederationPolicy object itself: {"description", "oidc_policy": {issuer,
** audiences, subject, subject_claim, jwks_json}}. Revoking is deleting the
** policy (list, then delete SERVICE_PRINCIPAL_ID POLICY_ID).
*/
#include <stdio.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "federation.h"

/* The CLI command group of service principal federation policies. */
#define FED_CLI "databricks account service-principal-federation-policy"

/* Output forms. */
#define FED_CLI_FORM    0
#define FED_JSON_FORM   1
#define FED_REVOKE_FORM 2

/* What the arguments and options say, checked; strings are borrowed. */
typedef struct FedPolicy {
  const char *zSpId;         /* digits */
  const char *zIssuer;       /* https URL */
  const char *zSubject;      /* the subject claim's value */
  const cJSON *pAudiences;   /* string or array, or NULL */
  const char *zSubjectClaim; /* or NULL (Databricks: "sub") */
  char *zJwks;               /* compact JWKS text, or NULL; owned */
  const char *zAccountId;    /* or NULL */
  const char *zPolicyId;     /* or NULL (Databricks assigns one) */
  const char *zDescription;  /* or NULL */
  const char *zProfile;      /* CLI profile, or NULL */
  int eForm;                 /* FED_*_FORM */
} FedPolicy;

void dbx_federation_sh_quote(DbxBuf *p, const char *z) {
  dbx_buf_append(p, "'", 1);
  while (*z) {
    size_t n = strcspn(z, "'");
    dbx_buf_append(p, z, n);
    z += n;
    if (*z == '\'') {
      /* end the quote, an escaped quote, start a new quote */
      dbx_buf_append(p, "'\\''", 4);
      z++;
    }
  }
  dbx_buf_append(p, "'", 1);
}

/* Whether z holds a control character (a newline would end a command or
** a comment line; no issuer, subject or id has one). */
static int fed_has_control(const char *z) {
  for (; *z; z++) {
    if ((unsigned char)*z < 0x20 || *z == 0x7f) return 1;
  }
  return 0;
}

/* Checks a text argument or option zWhat: non-empty, no control
** character. */
static int fed_text(const char *z, const char *zWhat, DbxError *pErr) {
  if (z == NULL || z[0] == 0) {
    return dbx_error_set(pErr, SQLITE_ERROR, "%s is empty: give a value",
                         zWhat);
  }
  if (fed_has_control(z)) {
    return dbx_error_set(pErr, SQLITE_ERROR,
                         "%s holds a control character (a newline, a tab, "
                         "...): give it on one line without them",
                         zWhat);
  }
  return SQLITE_OK;
}

/* An option that must be a string: its text in *pz. */
static int fed_opt_text(const cJSON *pItem, const char **pz, DbxError *pErr) {
  char zWhat[80];
  snprintf(zWhat, sizeof(zWhat), "option %s", pItem->string);
  if (!cJSON_IsString(pItem)) {
    return dbx_error_set(pErr, SQLITE_ERROR, "%s must be a string", zWhat);
  }
  *pz = pItem->valuestring;
  return fed_text(*pz, zWhat, pErr);
}

/* A policy id as the API takes it: 2 to 63 lower-case letters, digits,
** hyphens and slashes. */
static int fed_policy_id(const char *z, DbxError *pErr) {
  size_t n = strlen(z);
  if (n < 2 || n > 63 ||
      strspn(z, "abcdefghijklmnopqrstuvwxyz0123456789-/") != n) {
    return dbx_error_set(pErr, SQLITE_ERROR,
                         "option policy_id must be 2 to 63 lower-case "
                         "letters, digits, hyphens and slashes, for example "
                         "\"sqlite-export\"");
  }
  return SQLITE_OK;
}

/* audiences: a non-empty string, or a non-empty array of them. */
static int fed_audiences(const cJSON *pItem, DbxError *pErr) {
  const cJSON *pA;
  int rc = SQLITE_OK;
  if (cJSON_IsString(pItem)) {
    return fed_text(pItem->valuestring, "option audiences", pErr);
  }
  if (!cJSON_IsArray(pItem) || cJSON_GetArraySize(pItem) == 0) {
    return dbx_error_set(pErr, SQLITE_ERROR,
                         "option audiences must be a string or an array of "
                         "strings, for example [\"<account-id>\"]");
  }
  cJSON_ArrayForEach(pA, pItem) {
    if (!cJSON_IsString(pA)) {
      return dbx_error_set(pErr, SQLITE_ERROR,
                           "option audiences must hold strings only");
    }
    rc = fed_text(pA->valuestring, "an entry of option audiences", pErr);
    if (rc) break;
  }
  return rc;
}

/*
** jwks_json: JWKS text (what dbx_jwks() returns) or the object itself.
** Checks that it is {"keys": [...]} of JWKs with a kty and no private
** member, and keeps it compact in p->zJwks.
*/
static int fed_jwks(const cJSON *pItem, FedPolicy *p, DbxError *pErr) {
  static const char *const azPrivate[] = {"d",  "p",  "q", "dp",
                                          "dq", "qi", "k", "oth"};
  cJSON *pParsed = NULL, *pKeys, *pKey;
  const cJSON *pJwks = pItem;
  size_t i;
  int rc = SQLITE_OK;
  if (cJSON_IsString(pItem)) {
    pParsed = cJSON_Parse(pItem->valuestring);
    pJwks = pParsed;
  }
  pKeys = cJSON_IsObject(pJwks)
              ? cJSON_GetObjectItemCaseSensitive(pJwks, "keys")
              : NULL;
  if (!cJSON_IsArray(pKeys) || cJSON_GetArraySize(pKeys) == 0) {
    rc = dbx_error_set(pErr, SQLITE_ERROR,
                       "option jwks_json must be a JWKS, {\"keys\": [...]} "
                       "with at least one key: give dbx_jwks(key_file)");
  }
  if (rc) pKeys = NULL;
  cJSON_ArrayForEach(pKey, pKeys) {
    const cJSON *pKty = cJSON_GetObjectItemCaseSensitive(pKey, "kty");
    if (!cJSON_IsObject(pKey) || !cJSON_IsString(pKty)) {
      rc = dbx_error_set(pErr, SQLITE_ERROR,
                         "option jwks_json: every key must be a JWK object "
                         "with a kty: give dbx_jwks(key_file)");
      break;
    }
    for (i = 0; i < DBX_ARRAY_SIZE(azPrivate); i++) {
      if (cJSON_GetObjectItemCaseSensitive(pKey, azPrivate[i])) {
        rc = dbx_error_set(pErr, SQLITE_ERROR,
                           "option jwks_json holds the private key member "
                           "\"%s\": a policy takes public keys only, give "
                           "dbx_jwks(key_file)",
                           azPrivate[i]);
        break;
      }
    }
    if (rc) break;
  }
  if (rc == SQLITE_OK) {
    char *z = cJSON_PrintUnformatted(pJwks);
    p->zJwks = z ? dbx_strdup(z) : NULL;
    cJSON_free(z);
    if (p->zJwks == NULL)
      rc = dbx_error_set(pErr, SQLITE_NOMEM, "out of memory");
  }
  cJSON_Delete(pParsed);
  return rc;
}

/* Reads the options object pJson (may be NULL) into *p. */
static int fed_options(const cJSON *pJson, FedPolicy *p, DbxError *pErr) {
  const cJSON *pItem;
  int rc = SQLITE_OK;
  cJSON_ArrayForEach(pItem, pJson) {
    const char *zKey = pItem->string;
    if (strcmp(zKey, "format") == 0) {
      const char *z = NULL;
      rc = fed_opt_text(pItem, &z, pErr);
      if (rc == SQLITE_OK) {
        if (strcmp(z, "cli") == 0) {
          p->eForm = FED_CLI_FORM;
        } else if (strcmp(z, "json") == 0) {
          p->eForm = FED_JSON_FORM;
        } else if (strcmp(z, "revoke") == 0) {
          p->eForm = FED_REVOKE_FORM;
        } else {
          rc = dbx_error_set(pErr, SQLITE_ERROR,
                             "option format must be \"cli\" (the default), "
                             "\"json\" (the REST body) or \"revoke\"");
        }
      }
    } else if (strcmp(zKey, "audiences") == 0) {
      rc = fed_audiences(pItem, pErr);
      p->pAudiences = pItem;
    } else if (strcmp(zKey, "subject_claim") == 0) {
      rc = fed_opt_text(pItem, &p->zSubjectClaim, pErr);
    } else if (strcmp(zKey, "jwks_json") == 0) {
      rc = fed_jwks(pItem, p, pErr);
    } else if (strcmp(zKey, "account_id") == 0) {
      rc = fed_opt_text(pItem, &p->zAccountId, pErr);
    } else if (strcmp(zKey, "policy_id") == 0) {
      rc = fed_opt_text(pItem, &p->zPolicyId, pErr);
      if (rc == SQLITE_OK) rc = fed_policy_id(p->zPolicyId, pErr);
    } else if (strcmp(zKey, "description") == 0) {
      rc = fed_opt_text(pItem, &p->zDescription, pErr);
    } else if (strcmp(zKey, "profile") == 0) {
      rc = fed_opt_text(pItem, &p->zProfile, pErr);
    } else {
      rc = dbx_error_set(pErr, SQLITE_ERROR,
                         "unknown option '%s': known options are format, "
                         "audiences, subject_claim, jwks_json, account_id, "
                         "policy_id, description, profile",
                         zKey);
    }
    if (rc) break;
  }
  return rc;
}

/* The FederationPolicy object of *p (cJSON_Delete), or NULL. */
static cJSON *fed_policy_json(const FedPolicy *p) {
  cJSON *pRoot = cJSON_CreateObject(), *pOidc = NULL, *pAud = NULL;
  int bOk = pRoot != NULL;
  if (bOk && p->zDescription) {
    bOk = cJSON_AddStringToObject(pRoot, "description", p->zDescription) != 0;
  }
  if (bOk) bOk = (pOidc = cJSON_AddObjectToObject(pRoot, "oidc_policy")) != 0;
  bOk = bOk && cJSON_AddStringToObject(pOidc, "issuer", p->zIssuer);
  /* audiences: as given; else the account id when known; else none,
  ** which Databricks reads as the account id too */
  if (bOk && (p->pAudiences || p->zAccountId)) {
    bOk = (pAud = cJSON_AddArrayToObject(pOidc, "audiences")) != 0;
  }
  if (bOk && p->pAudiences && cJSON_IsArray(p->pAudiences)) {
    const cJSON *pA;
    cJSON_ArrayForEach(pA, p->pAudiences) {
      bOk = bOk &&
            cJSON_AddItemToArray(pAud, cJSON_CreateString(pA->valuestring));
    }
  } else if (bOk && pAud) {
    bOk = cJSON_AddItemToArray(
        pAud, cJSON_CreateString(p->pAudiences ? p->pAudiences->valuestring
                                               : p->zAccountId));
  }
  bOk = bOk && cJSON_AddStringToObject(pOidc, "subject", p->zSubject);
  if (bOk && p->zSubjectClaim) {
    bOk =
        cJSON_AddStringToObject(pOidc, "subject_claim", p->zSubjectClaim) != 0;
  }
  if (bOk && p->zJwks) {
    bOk = cJSON_AddStringToObject(pOidc, "jwks_json", p->zJwks) != 0;
  }
  if (!bOk) {
    cJSON_Delete(pRoot);
    return NULL;
  }
  return pRoot;
}

/* Appends " --profile '<profile>'" when one is given. */
static void fed_profile(DbxBuf *b, const FedPolicy *p) {
  if (p->zProfile) {
    dbx_buf_appendf(b, " --profile ");
    dbx_federation_sh_quote(b, p->zProfile);
  }
}

/* The revoke form: list, delete, and a word on tokens already issued. */
static void fed_revoke(DbxBuf *b, const FedPolicy *p) {
  if (p->zPolicyId == NULL) {
    dbx_buf_appendf(b,
                    "# set POLICY_ID to the policy_id of the policy with "
                    "issuer %s and subject %s in this list:\n",
                    p->zIssuer, p->zSubject);
  }
  dbx_buf_appendf(b, FED_CLI " list %s", p->zSpId);
  fed_profile(b, p);
  dbx_buf_appendf(b, "\n" FED_CLI " delete %s ", p->zSpId);
  if (p->zPolicyId) {
    dbx_federation_sh_quote(b, p->zPolicyId);
  } else {
    dbx_buf_appendf(b, "\"$POLICY_ID\"");
  }
  fed_profile(b, p);
  dbx_buf_appendf(b, "\n# the next token exchange is refused; access tokens "
                     "issued before stay valid until they expire (an hour at "
                     "most): to end data access at once, also run the REVOKE "
                     "statements of dbx_revoke_sql()\n");
}

int dbx_federation_policy_text(const char *zSpId, const char *zIssuer,
                               const char *zSubject, const char *zOptions,
                               char **pzOut, DbxError *pErr) {
  FedPolicy p;
  cJSON *pOpts = NULL, *pPolicy = NULL;
  DbxBuf b = {0};
  size_t nSp;
  int rc = SQLITE_OK;

  *pzOut = NULL;
  memset(&p, 0, sizeof(p));
  p.zSpId = zSpId;
  p.zIssuer = zIssuer;
  p.zSubject = zSubject;
  nSp = zSpId ? strlen(zSpId) : 0;
  if (nSp == 0 || nSp > 19 || strspn(zSpId, "0123456789") != nSp) {
    return dbx_error_set(pErr, SQLITE_ERROR,
                         "service_principal_id must be the numeric id of the "
                         "service principal (its ID on the account console's "
                         "service principal page), not its application id or "
                         "name");
  }
  rc = fed_text(zIssuer, "issuer", pErr);
  if (rc == SQLITE_OK && strncmp(zIssuer, "https://", 8) != 0) {
    rc = dbx_error_set(pErr, SQLITE_ERROR,
                       "issuer must be an https:// URL, the \"iss\" of the "
                       "JWTs (for the extension's own JWTs: oidc_issuer)");
  }
  if (rc == SQLITE_OK) rc = fed_text(zSubject, "subject", pErr);
  if (rc == SQLITE_OK && zOptions && zOptions[0]) {
    pOpts = cJSON_Parse(zOptions);
    if (!cJSON_IsObject(pOpts)) {
      rc = dbx_error_set(pErr, SQLITE_ERROR,
                         "options_json must be a JSON object, for example "
                         "{\"format\": \"json\", \"policy_id\": "
                         "\"sqlite-export\"}");
    } else {
      rc = fed_options(pOpts, &p, pErr);
    }
  }
  if (rc == SQLITE_OK && p.eForm == FED_REVOKE_FORM) {
    fed_revoke(&b, &p);
  } else if (rc == SQLITE_OK) {
    char *zJson = NULL;
    pPolicy = fed_policy_json(&p);
    zJson = pPolicy ? cJSON_PrintUnformatted(pPolicy) : NULL;
    if (zJson == NULL) {
      rc = dbx_error_set(pErr, SQLITE_NOMEM, "out of memory");
    } else if (p.eForm == FED_JSON_FORM) {
      dbx_buf_appendf(&b, "%s", zJson);
    } else {
      dbx_buf_appendf(&b, FED_CLI " create %s", zSpId);
      if (p.zPolicyId) {
        dbx_buf_appendf(&b, " --policy-id ");
        dbx_federation_sh_quote(&b, p.zPolicyId);
      }
      dbx_buf_appendf(&b, " --json ");
      dbx_federation_sh_quote(&b, zJson);
      fed_profile(&b, &p);
    }
    cJSON_free(zJson);
  }
  if (rc == SQLITE_OK) {
    *pzOut = dbx_buf_take(&b);
    if (*pzOut == NULL) rc = dbx_error_set(pErr, SQLITE_NOMEM, "out of memory");
  }
  dbx_buf_free(&b);
  cJSON_Delete(pPolicy);
  cJSON_Delete(pOpts);
  sqlite3_free(p.zJwks);
  return rc;
}
