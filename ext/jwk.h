/*
** jwk.h: the keys of the self-hosted issuer (jwk.c), part of the
** "transport" layer beside auth.c.
**
** The auth type oidc-self-signed signs its subject JWTs with the private
** key of oidc_private_key_file; the federation policy of the service
** principal holds the public half as a JWKS (RFC 7517). This file reads
** such a key (RSA, or EC P-256), writes its public members as a JWK, names
** it by its RFC 7638 thumbprint (the "kid" of both the JWKS and the JWT
** header, so the two always agree), and makes new keys:
**
**   {"keys":[{"kty":"EC","crv":"P-256","x":"...","y":"...",
**             "kid":"<thumbprint>","use":"sig","alg":"ES256"}]}
**
** Only public members are ever written: never d, p, q, dp, dq or qi. The
** PEM text read or written is wiped before it is freed.
*/
#ifndef DBX_JWK_H
#define DBX_JWK_H

#include <openssl/evp.h>

#include "dbx_int.h"

struct cJSON;

/* Flags of dbx_jwk_load(). */
#define DBX_JWK_PUBLIC_OK 0x01 /* a PEM public key will do too */

/*
** Reads the PEM key of file zPath (zWhat names it in errors, as
** "oidc_private_key_file") into *ppKey (EVP_PKEY_free) and says in *pbEc
** whether it is an EC key. Only unencrypted RSA and P-256 keys are
** accepted; with DBX_JWK_PUBLIC_OK a public key ("BEGIN PUBLIC KEY") is
** too. Returns SQLITE_OK or an error in pErr.
*/
int dbx_jwk_load(const char *zPath, const char *zWhat, int flags,
                 EVP_PKEY **ppKey, int *pbEc, DbxError *pErr);

/*
** The RFC 7638 thumbprint of pKey's public key: base64url (no padding) of
** the SHA-256 of its required members in lexicographic order, without
** white space. Returns SQLITE_OK and *pzKid (sqlite3_free), or an error.
*/
int dbx_jwk_thumbprint(EVP_PKEY *pKey, char **pzKid, DbxError *pErr);

/*
** Adds to JSON array pKeys the public JWK of pKey: kty, then n and e (RSA)
** or crv, x and y (EC), then kid (the thumbprint), use "sig" and alg
** ("RS256" or "ES256"). Returns SQLITE_OK or an error in pErr.
*/
int dbx_jwk_append(EVP_PKEY *pKey, struct cJSON *pKeys, DbxError *pErr);

/*
** Writes a new private key to zPath in PEM (PKCS #8): zType "rsa" (2048
** bits, RS256) or "ec" (P-256, ES256). The file is created with mode 0600
** and never replaces one: an existing path is an error that says so.
** Returns SQLITE_OK and the key's thumbprint in *pzKid (sqlite3_free), or
** an error in pErr (and no file is left behind).
*/
int dbx_jwk_keygen(const char *zPath, const char *zType, char **pzKid,
                   DbxError *pErr);

#endif /* DBX_JWK_H */
