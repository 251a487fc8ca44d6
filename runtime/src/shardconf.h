/*
 * shardconf.h: reading a shard set's configuration (dbont/shardset.h
 * describes the file and the variables) into plain structs.  Internal to
 * libdbont.  Nothing here connects: it is pure parsing (libpq's
 * PQconninfoParse checks each DSN), so that the unit test can check every
 * message; shardset.c opens the pools.
 */
#ifndef DBONT_SHARDCONF_H
#define DBONT_SHARDCONF_H

#include <stddef.h>

#include "dbont/error.h"

typedef struct shardconf_server {
    char *dsn;     /* as configured, blanks around it removed */
    char *label;   /* "host:port" from the DSN, for messages (no password) */
} shardconf_server;

typedef struct shardconf_shard {
    shardconf_server primary;      /* primary.dsn is NULL until one is read */
    int primary_line;              /* the file's line of the primary (messages) */
    shardconf_server *standbys;    /* in configuration order */
    size_t nstandbys, cap;
} shardconf_shard;

typedef struct shardconf {
    int count;                /* 1 .. DBONT_SHARDSET_MAX_SHARDS */
    char *count_origin;       /* where count was set: "shards.conf:1:8" or
                                 "DBONT_SHARD_COUNT" */
    shardconf_shard *shards;  /* count of them */
    int moving_from;          /* 0, or 1 .. count-1: a move from that many
                                 shards is in progress ("moving-from N",
                                 DBONT_SHARD_MOVING_FROM) */
} shardconf;

/*
 * Parses len bytes of a configuration file; name is used in messages
 * ("name:line:col: ...").  On success *out is filled (shardconf_free it);
 * on failure err says why and *out is empty (freeing it is harmless).
 */
dbont_status shardconf_parse(shardconf *out, const char *name, const char *text,
                             size_t len, dbont_error *err);

/* Reads and parses the file at path (58030 when it cannot be read). */
dbont_status shardconf_read_file(shardconf *out, const char *path, dbont_error *err);

/*
 * Reads the DBONT_SHARD_* variables of envp (NULL-terminated "NAME=VALUE"
 * strings, as environ).  Fails when DBONT_SHARD_COUNT is not set.
 */
dbont_status shardconf_from_env(shardconf *out, char *const *envp, dbont_error *err);

/*
 * Where dbont_shardset_open reads from: the file conf_path when not NULL,
 * else the file $DBONT_SHARDS_CONF of envp when set and not empty, else
 * the DBONT_SHARD_* variables of envp.
 */
dbont_status shardconf_load(shardconf *out, const char *conf_path, char *const *envp,
                            dbont_error *err);

/* DBONT_OK when expected is 0 or the count; else 22023 naming both. */
dbont_status shardconf_check_count(const shardconf *c, int expected, dbont_error *err);

/* Frees what *c holds and empties it.  NULL is allowed. */
void shardconf_free(shardconf *c);

#endif
