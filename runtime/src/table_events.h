/*
 * table_events.h: the events of a table's mutations (dbont/cache.h).
 * Internal to libdbont.
 */
#ifndef DBONT_TABLE_EVENTS_H
#define DBONT_TABLE_EVENTS_H

#include "dbont/table.h"

/* Emits "<event_entity>:<action>" (created, updated, deleted) on conn;
 * nothing when the table names no entity or no cache is attached. */
void dbont_table_emit(dbont_conn *conn, const dbont_table *table, const char *action);

#endif
