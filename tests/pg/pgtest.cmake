# pgtest.cmake: tests against a throwaway PostgreSQL cluster.
#
# Adds the tests pg_start (fixture setup "pg": pgcluster.sh start) and
# pg_stop (fixture cleanup "pg": runs after the last test that needs the
# cluster, even when tests fail), and defines
#
#   dbont_add_pg_test(NAME name COMMAND cmd args... [WORKING_DIRECTORY dir])
#
# which adds a test running `cmd args...` through with-pg.sh: against a
# fresh database named after the test (lower case, other characters than
# [a-z0-9_] turned into '_'), with DATABASE_URL set for it.  The test
# requires the "pg" fixture, so `ctest -R name` starts and stops the
# cluster by itself.  COMMAND may use generator expressions
# ($<TARGET_FILE:...>).
#
# Include this file once (tests/pg/CMakeLists.txt does); CMake functions
# are global, so every later folder can call dbont_add_pg_test.
include_guard(GLOBAL)

set(DBONT_PG_SCRIPTS_DIR ${CMAKE_CURRENT_LIST_DIR})
# One cluster per build tree; the state folder records it (pg.env).
set(DBONT_PG_STATE_DIR ${CMAKE_BINARY_DIR}/pg-state CACHE INTERNAL "pgcluster.sh state folder")

add_test(NAME pg_start
  COMMAND bash ${DBONT_PG_SCRIPTS_DIR}/pgcluster.sh start ${DBONT_PG_STATE_DIR})
set_tests_properties(pg_start PROPERTIES FIXTURES_SETUP pg TIMEOUT 120)
add_test(NAME pg_stop
  COMMAND bash ${DBONT_PG_SCRIPTS_DIR}/pgcluster.sh stop ${DBONT_PG_STATE_DIR})
set_tests_properties(pg_stop PROPERTIES FIXTURES_CLEANUP pg TIMEOUT 120)

function(dbont_add_pg_test)
  cmake_parse_arguments(PARSE_ARGV 0 arg "" "NAME;WORKING_DIRECTORY" "COMMAND")
  if(NOT arg_NAME OR NOT arg_COMMAND)
    message(FATAL_ERROR "dbont_add_pg_test: NAME and COMMAND are required")
  endif()
  if(arg_UNPARSED_ARGUMENTS)
    message(FATAL_ERROR "dbont_add_pg_test(${arg_NAME}): unexpected arguments ${arg_UNPARSED_ARGUMENTS}")
  endif()

  string(TOLOWER "${arg_NAME}" db)
  string(REGEX REPLACE "[^a-z0-9_]" "_" db "${db}")
  string(SUBSTRING "${db}" 0 63 db)

  # Paths come from this file's folder, whichever folder calls us.
  set(scripts ${CMAKE_CURRENT_FUNCTION_LIST_DIR})
  set(dir_args)
  if(arg_WORKING_DIRECTORY)
    set(dir_args WORKING_DIRECTORY ${arg_WORKING_DIRECTORY})
  endif()
  add_test(NAME ${arg_NAME}
    COMMAND bash ${scripts}/with-pg.sh ${DBONT_PG_STATE_DIR} ${db} ${arg_COMMAND}
    ${dir_args})
  set_tests_properties(${arg_NAME} PROPERTIES FIXTURES_REQUIRED pg)
endfunction()
