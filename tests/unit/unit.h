/*
** Shared includes for the cmocka unit tests. Each tests/unit/test_*.c is
** one binary linked against the extension's sources built with
** SQLITE_CORE, so SQLite's allocator is the real one.
*/
#ifndef DBX_UNIT_H
#define DBX_UNIT_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "dbx_int.h"

#endif /* DBX_UNIT_H */
