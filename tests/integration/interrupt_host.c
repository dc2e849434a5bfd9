/*
** A minimal application that embeds SQLite, for the interrupt tests: it
** loads the extension, runs one statement, calls sqlite3_interrupt() from
** another thread after a delay, reports how long the statement took to
** return after the interrupt, and then stays alive for a while (as an app
** would) before it closes the database.
**
**   interrupt_host EXTENSION SQL DELAY_MS LINGER_MS
**
** Prints one JSON line: {"rc": N, "after_interrupt_ms": N, "error": "..."}.
*/
#include <pthread.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

static sqlite3 *db;
static long delayMs;
static long long tInterrupt;

static long long now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void *interrupter(void *pArg) {
  (void)pArg;
  usleep((useconds_t)delayMs * 1000);
  tInterrupt = now_ms();
  sqlite3_interrupt(db);
  return NULL;
}

int main(int argc, char **argv) {
  pthread_t t;
  char *zErr = NULL;
  const char *z;
  int rc;
  long long tDone;
  if (argc != 5) {
    fprintf(stderr, "usage: interrupt_host EXT SQL DELAY_MS LINGER_MS\n");
    return 2;
  }
  delayMs = atol(argv[3]);
  if (sqlite3_open(":memory:", &db) != SQLITE_OK) return 1;
  sqlite3_enable_load_extension(db, 1);
  if (sqlite3_load_extension(db, argv[1], NULL, &zErr) != SQLITE_OK) {
    fprintf(stderr, "load: %s\n", zErr);
    return 1;
  }
  pthread_create(&t, NULL, interrupter, NULL);
  rc = sqlite3_exec(db, argv[2], NULL, NULL, &zErr);
  tDone = now_ms();
  pthread_join(t, NULL);
  printf("{\"rc\": %d, \"after_interrupt_ms\": %lld, \"error\": \"", rc,
         tInterrupt ? tDone - tInterrupt : -1);
  for (z = zErr ? zErr : ""; *z; z++) {
    if (*z == '"' || *z == '\\') putchar('\\');
    putchar(*z);
  }
  printf("\"}\n");
  fflush(stdout);
  sqlite3_free(zErr);
  usleep((useconds_t)atol(argv[4]) * 1000);
  sqlite3_close(db);
  return 0;
}
