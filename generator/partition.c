#include "partition.h"

#include <stdlib.h>
#include <string.h>

#include "naming.h"
#include "util.h"

char *partition_registry_sql(void)
{
    return xstrdup("CREATE TABLE IF NOT EXISTS dbont_partitioned (\n"
                   "    table_name text PRIMARY KEY,\n"
                   "    key_column text NOT NULL,\n"
                   "    range_size text NOT NULL CHECK (range_size IN ('daily', 'monthly', 'yearly')),\n"
                   "    hot_days integer NOT NULL CHECK (hot_days >= 0),\n"
                   "    periods_ahead integer NOT NULL CHECK (periods_ahead >= 0)\n"
                   ")");
}

/*
 * The function, in PL/pgSQL because the partitions depend on the day it
 * runs, not on the day the migration was written.  Names are checked with
 * to_regclass in the caller's search_path (where the migrations put the
 * tables) and quoted with format's %I; a partition whose range has rows in
 * the default partition is made as a plain table, filled with those rows
 * (deleted from the default in the same statement) and attached, all in
 * the caller's transaction.
 */
char *partition_function_sql(void)
{
    return xstrdup(
        "CREATE OR REPLACE FUNCTION dbont_maintain_partitions(at timestamptz DEFAULT now())\n"
        "RETURNS TABLE (table_name text, created text[], moved_rows bigint, default_rows bigint)\n"
        "LANGUAGE plpgsql AS $dbont$\n"
        "#variable_conflict use_column\n"
        "DECLARE\n"
        "  p record;\n"
        "  unit text;\n"
        "  fmt text;\n"
        "  key_type text;\n"
        "  lo timestamp;\n"
        "  hi timestamp;\n"
        "  stop timestamp;\n"
        "  part text;\n"
        "  lo_text text;\n"
        "  hi_text text;\n"
        "  n bigint;\n"
        "BEGIN\n"
        "  FOR p IN SELECT d.table_name AS t, d.key_column AS k, d.range_size AS r, d.hot_days AS h,\n"
        "                  d.periods_ahead AS a FROM dbont_partitioned d ORDER BY d.table_name LOOP\n"
        "    unit := CASE p.r WHEN 'daily' THEN 'day' WHEN 'monthly' THEN 'month' ELSE 'year' END;\n"
        "    fmt := CASE p.r WHEN 'daily' THEN 'YYYY_MM_DD' WHEN 'monthly' THEN 'YYYY_MM' ELSE 'YYYY' END;\n"
        "    SELECT pg_catalog.format_type(a.atttypid, NULL) INTO key_type FROM pg_catalog.pg_attribute a\n"
        "      WHERE a.attrelid = pg_catalog.to_regclass(pg_catalog.quote_ident(p.t)) AND a.attname = p.k;\n"
        "    IF key_type IS NULL THEN\n"
        "      RAISE EXCEPTION 'dbont_partitioned lists %.%, which does not exist', p.t, p.k;\n"
        "    END IF;\n"
        "    -- in UTC, whatever the server's or the session's time zone\n"
        "    lo := pg_catalog.date_trunc(unit, (at AT TIME ZONE 'UTC') - pg_catalog.make_interval(days => p.h));\n"
        "    stop := pg_catalog.date_trunc(unit, at AT TIME ZONE 'UTC') + (p.a + 1) * ('1 ' || unit)::interval;\n"
        "    table_name := p.t;\n"
        "    created := '{}';\n"
        "    moved_rows := 0;\n"
        "    WHILE lo < stop LOOP\n"
        "      hi := lo + ('1 ' || unit)::interval;\n"
        "      part := p.t || '_' || pg_catalog.to_char(lo, fmt);\n"
        "      IF pg_catalog.to_regclass(pg_catalog.quote_ident(part)) IS NULL THEN\n"
        "        lo_text := CASE key_type WHEN 'date' THEN lo::date::text\n"
        "                   WHEN 'timestamp with time zone' THEN lo::text || '+00' ELSE lo::text END;\n"
        "        hi_text := CASE key_type WHEN 'date' THEN hi::date::text\n"
        "                   WHEN 'timestamp with time zone' THEN hi::text || '+00' ELSE hi::text END;\n"
        "        EXECUTE format('SELECT count(*) FROM %I WHERE %I >= %L AND %I < %L', p.t || '_default', p.k,\n"
        "                       lo_text, p.k, hi_text) INTO n;\n"
        "        IF n = 0 THEN\n"
        "          EXECUTE format('CREATE TABLE %I PARTITION OF %I FOR VALUES FROM (%L) TO (%L)', part, p.t,\n"
        "                         lo_text, hi_text);\n"
        "        ELSE\n"
        "          -- its rows wait in the default partition: they move into it\n"
        "          EXECUTE format('CREATE TABLE %I (LIKE %I INCLUDING DEFAULTS INCLUDING CONSTRAINTS)', part, p.t);\n"
        "          EXECUTE format('WITH m AS (DELETE FROM %I WHERE %I >= %L AND %I < %L RETURNING *) '\n"
        "                         'INSERT INTO %I SELECT * FROM m', p.t || '_default', p.k, lo_text, p.k, hi_text,\n"
        "                         part);\n"
        "          EXECUTE format('ALTER TABLE %I ATTACH PARTITION %I FOR VALUES FROM (%L) TO (%L)', p.t, part,\n"
        "                         lo_text, hi_text);\n"
        "          moved_rows := moved_rows + n;\n"
        "        END IF;\n"
        "        created := created || part;\n"
        "      END IF;\n"
        "      lo := hi;\n"
        "    END LOOP;\n"
        "    EXECUTE format('SELECT count(*) FROM %I', p.t || '_default') INTO default_rows;\n"
        "    RETURN NEXT;\n"
        "  END LOOP;\n"
        "END $dbont$");
}

char *partition_function_drop_sql(void)
{
    return xstrdup("DROP FUNCTION dbont_maintain_partitions(timestamptz)");
}

char *partition_registry_drop_sql(void)
{
    return xstrdup("DROP TABLE dbont_partitioned");
}

char *partition_default_sql(const stable *t)
{
    char *name = xasprintf("%s_default", t->name);
    char *qd = naming_sql_ident(name), *qt = naming_sql_ident(t->name);
    char *s = xasprintf("CREATE TABLE %s PARTITION OF %s DEFAULT", qd, qt);
    free(name);
    free(qd);
    free(qt);
    return s;
}

char *partition_register_sql(const stable *t)
{
    return xasprintf("INSERT INTO dbont_partitioned (table_name, key_column, range_size, hot_days, periods_ahead) "
                     "VALUES ('%s', '%s', '%s', %lld, %lld) ON CONFLICT (table_name) DO UPDATE SET key_column = "
                     "EXCLUDED.key_column, range_size = EXCLUDED.range_size, hot_days = EXCLUDED.hot_days, "
                     "periods_ahead = EXCLUDED.periods_ahead",
                     t->name, t->partition_key, t->partition_range, t->hot_days, t->periods_ahead);
}

char *partition_unregister_sql(const char *table_name)
{
    return xasprintf("DELETE FROM dbont_partitioned WHERE table_name = '%s'", table_name);
}

char *partition_maintain_sql(void)
{
    return xstrdup("SELECT count(*) FROM dbont_maintain_partitions()");
}
