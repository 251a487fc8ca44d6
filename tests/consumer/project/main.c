/* Inserts a note and reads it back through the generated functions. */
#include <stdio.h>
#include <string.h>

#include "notes.h"

int main(void)
{
    dbont_error err = {0};
    dbont_conn *conn = dbont_connect(NULL, &err);
    if (!conn) {
        fprintf(stderr, "connect: %s\n", err.message);
        return 1;
    }
    notes_notes_new note = {0};
    note.title = "buy milk";
    notes_notes_rows rows;
    int rc = 1;
    if (notes_notes_insert(conn, &note, &rows, &err) == DBONT_OK) {
        int64_t id = rows.rows[0].id;
        notes_notes_rows_free(&rows);
        if (notes_notes_get(conn, id, &rows, &err) == DBONT_OK && strcmp(rows.rows[0].title, "buy milk") == 0 &&
            !rows.rows[0].done) {
            printf("note %lld: %s\n", (long long)id, rows.rows[0].title);
            rc = 0;
        }
        notes_notes_rows_free(&rows);
    }
    if (rc)
        fprintf(stderr, "notes: %s %s\n", err.sqlstate, err.message);
    dbont_close(conn);
    return rc;
}
