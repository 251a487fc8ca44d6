/*
 * test_naming.c: naming.c and sql_keywords.c: table names from IRIs
 * (snake_case), the identifier rules with their messages, quoting in SQL,
 * renaming in C, and the C prefix derived from a file name.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "naming.h"

#define DB "http://example.org/db/"

static void expect_table_name(const char *iri, const char *expected)
{
    char *s = naming_table_name(iri);
    assert_string_equal(s, expected);
    free(s);
}

static void expect_snake(const char *name, const char *expected)
{
    char *s = naming_snake_case(name);
    assert_string_equal(s, expected);
    free(s);
}

static void test_local_name(void **state)
{
    (void)state;
    assert_string_equal(naming_local_name(DB "UsersTable"), "UsersTable");
    assert_string_equal(naming_local_name("http://example.org/ns#Posts"), "Posts");
    /* the later of '/' and '#' wins */
    assert_string_equal(naming_local_name("http://a/b#c/d"), "d");
    assert_string_equal(naming_local_name("http://a/b/c#d"), "d");
    assert_string_equal(naming_local_name("plain"), "plain");
    assert_string_equal(naming_local_name("http://a/"), "");
}

static void test_table_name(void **state)
{
    (void)state;
    expect_table_name(DB "UsersTable", "users");
    expect_table_name(DB "UsersInOrgTable", "users_in_org");
    expect_table_name(DB "HTTPServerTable", "http_server");
    expect_table_name(DB "OrganizationsTable", "organizations");
    /* a bare "Table" keeps its name */
    expect_table_name(DB "Table", "table");
    /* only one trailing "Table" goes */
    expect_table_name(DB "TableTable", "table");
    /* no "Table" suffix: the whole local name */
    expect_table_name(DB "Posts", "posts");
    expect_table_name("http://example.org/ns#LineItemTable", "line_item");
    /* digits */
    expect_table_name(DB "Orders2024Table", "orders2024");
    expect_table_name(DB "V2Table", "v2");
    expect_table_name(DB "Order2ItemsTable", "order2_items");
    expect_table_name(DB "usersTable", "users");
    /* "Tables" does not end in "Table" */
    expect_table_name(DB "UserTables", "user_tables");
}

static void test_snake_case(void **state)
{
    (void)state;
    expect_snake("UsersInOrg", "users_in_org");
    expect_snake("HTTPServer", "http_server");
    expect_snake("getHTTPResponseCode", "get_http_response_code");
    expect_snake("ABC", "abc");
    expect_snake("already_snake", "already_snake");
    expect_snake("A", "a");
    expect_snake("", "");
    expect_snake("Utf8Text", "utf8_text");
    expect_snake("X11Display", "x11_display");
    expect_snake("userID", "user_id");
}

static void expect_bad(const char *name, const char *why_expected)
{
    char why[512] = "untouched";
    assert_false(naming_check_identifier(name, why, sizeof why));
    assert_string_equal(why, why_expected);
}

static void expect_good(const char *name)
{
    char why[512] = "untouched";
    assert_true(naming_check_identifier(name, why, sizeof why));
}

static void test_identifier_rules(void **state)
{
    (void)state;
    expect_good("users");
    expect_good("a");
    expect_good("_tmp");
    expect_good("Users2");
    expect_good("x_1_y");

    expect_bad("", "the name is empty");

    char name[80];
    memset(name, 'a', 63);
    name[63] = '\0';
    expect_good(name);
    memset(name, 'a', 64);
    name[64] = '\0';
    char why[200];
    snprintf(why, sizeof why, "'%s' is 64 bytes long; PostgreSQL names are at most 63 bytes", name);
    expect_bad(name, why);

    expect_bad("1users", "invalid name '1users': it starts with a digit (use letters, digits and '_')");
    expect_bad("9", "invalid name '9': it starts with a digit (use letters, digits and '_')");
    expect_bad("a\"b", "invalid name 'a\"b': it contains a quote character (use letters, digits and '_')");
    expect_bad("it's", "invalid name 'it's': it contains a quote character (use letters, digits and '_')");
    expect_bad("a`b", "invalid name 'a`b': it contains a quote character (use letters, digits and '_')");
    expect_bad("users;drop", "invalid name 'users;drop': it contains ';' (use letters, digits and '_')");
    expect_bad("a--b", "invalid name 'a--b': it contains a comment marker '--' (use letters, digits and '_')");
    expect_bad("a/*b", "invalid name 'a/*b': it contains a comment marker '/*' (use letters, digits and '_')");
    expect_bad("first name", "invalid name 'first name': it contains white space (use letters, digits and '_')");
    expect_bad("a\tb", "invalid name 'a\tb': it contains white space (use letters, digits and '_')");
    expect_bad("caf\xc3\xa9",
               "invalid name 'caf\xc3\xa9': it contains a non-ASCII character (use letters, digits and '_')");
    expect_bad("a$b", "invalid name 'a$b': character '$' is not allowed (use letters, digits and '_')");
    expect_bad("a-b", "invalid name 'a-b': character '-' is not allowed (use letters, digits and '_')");
    expect_bad("a.b", "invalid name 'a.b': character '.' is not allowed (use letters, digits and '_')");
    /* the first offending character decides */
    expect_bad("a;'b", "invalid name 'a;'b': it contains ';' (use letters, digits and '_')");
}

static void expect_sql(const char *name, const char *expected)
{
    char *s = naming_sql_ident(name);
    assert_string_equal(s, expected);
    free(s);
}

static void test_sql_quoting(void **state)
{
    (void)state;
    /* reserved and other non-unreserved keywords are quoted */
    expect_sql("user", "\"user\"");
    expect_sql("order", "\"order\"");
    expect_sql("group", "\"group\"");
    expect_sql("select", "\"select\"");
    expect_sql("table", "\"table\"");
    expect_sql("default", "\"default\"");
    expect_sql("from", "\"from\"");
    expect_sql("limit", "\"limit\"");
    expect_sql("current_user", "\"current_user\"");
    expect_sql("left", "\"left\"");       /* type_func_name keyword */
    expect_sql("position", "\"position\""); /* col_name keyword */
    expect_sql("xmltable", "\"xmltable\""); /* last of the list */
    expect_sql("all", "\"all\"");           /* first of the list */
    /* unreserved keywords and ordinary names are not */
    expect_sql("name", "name");
    expect_sql("type", "type");
    expect_sql("data", "data");
    expect_sql("key", "key");
    expect_sql("value", "value");
    expect_sql("users", "users");
    expect_sql("email", "email");
    expect_sql("user_id", "user_id");
    expect_sql("_tmp", "_tmp");
    /* upper case is kept by quoting */
    expect_sql("Users", "\"Users\"");
    expect_sql("userId", "\"userId\"");
    expect_sql("USER", "\"USER\"");

    assert_true(naming_is_sql_keyword("user"));
    assert_false(naming_is_sql_keyword("USER"));
    assert_false(naming_is_sql_keyword("name"));
    assert_false(naming_is_sql_keyword(""));
    assert_false(naming_is_sql_keyword("zzz"));
}

static void expect_c(const char *name, const char *expected)
{
    char *s = naming_c_ident(name);
    assert_string_equal(s, expected);
    free(s);
}

static void test_c_names(void **state)
{
    (void)state;
    expect_c("default", "default_");
    expect_c("class", "class_");
    expect_c("bool", "bool_");
    expect_c("true", "true_");
    expect_c("int", "int_");
    expect_c("new", "new_");
    expect_c("delete", "delete_");
    expect_c("namespace", "namespace_");
    expect_c("_Bool", "_Bool_");
    expect_c("xor_eq", "xor_eq_");
    expect_c("_tmp", "x_tmp");
    expect_c("__x", "x__x");
    expect_c("id", "id");
    expect_c("user", "user");
    expect_c("order", "order");
    expect_c("Name", "Name");
    expect_c("classes", "classes");

    assert_true(naming_is_c_keyword("_Alignas")); /* first of the list */
    assert_true(naming_is_c_keyword("xor_eq"));   /* last of the list */
    assert_true(naming_is_c_keyword("static_assert"));
    assert_false(naming_is_c_keyword("Class"));
    assert_false(naming_is_c_keyword("users"));
    assert_false(naming_is_c_keyword(""));
}

static void expect_prefix(const char *path, const char *expected)
{
    char *s = naming_prefix_from_path(path);
    if (!expected) {
        assert_null(s);
        return;
    }
    assert_non_null(s);
    assert_string_equal(s, expected);
    free(s);
}

static void test_prefix_from_path(void **state)
{
    (void)state;
    expect_prefix("dir/my-app.ttl", "my_app");
    expect_prefix("blog.ttl", "blog");
    expect_prefix("/abs/path/to/Blog.ttl", "Blog");
    expect_prefix("a/b.c/shop.v2.ttl", "shop_v2");
    expect_prefix("noext", "noext");
    expect_prefix("dir.d/file", "file");
    expect_prefix("my app.ttl", "my_app");
    expect_prefix("1x.ttl", NULL);
    expect_prefix("default.ttl", NULL); /* a C keyword */
    expect_prefix("_x.ttl", NULL);      /* reserved in C */
    expect_prefix(".ttl", NULL);        /* "_ttl" */
    expect_prefix("dir/.ttl", NULL);
    expect_prefix("-x.ttl", NULL);      /* "_x" */
    expect_prefix("dir/", NULL);        /* empty */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_local_name),
        cmocka_unit_test(test_table_name),
        cmocka_unit_test(test_snake_case),
        cmocka_unit_test(test_identifier_rules),
        cmocka_unit_test(test_sql_quoting),
        cmocka_unit_test(test_c_names),
        cmocka_unit_test(test_prefix_from_path),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
