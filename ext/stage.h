/*
** stage.h: the staging volume of a commit (stage.c, engine layer).
**
** Before a commit uploads its files, the volume they go to must exist.
** dbx_stage_volume_ensure() asks Unity Catalog for it (catalog.h) and,
** when asked to, creates it with CREATE VOLUME IF NOT EXISTS through the
** Statement Execution API (statements.h): the one routine that needs both
** API clients, hence its own file above them.
*/
#ifndef DBX_STAGE_H
#define DBX_STAGE_H

#include "catalog.h"
#include "statements.h"

/*
** Makes sure volume zCatalog.zSchema.zVolume (unquoted names) exists.
** Looks it up; when it is missing and bCreate is set, runs CREATE VOLUME
** IF NOT EXISTS on the warehouse of pOpt (safe to repeat, so submitted as
** idempotent) and returns once it ran. Returns SQLITE_OK, or an error in
** pErr: a missing volume without bCreate says how to create it (and that
** the caller's option can), a missing CREATE VOLUME privilege names the
** GRANT to run. *pbCreated (may be NULL) is set when the statement ran.
*/
int dbx_stage_volume_ensure(DbxClient *pClient, const DbxStmtOptions *pOpt,
                            const char *zCatalog, const char *zSchema,
                            const char *zVolume, int bCreate, int *pbCreated,
                            DbxError *pErr);

#endif /* DBX_STAGE_H */
