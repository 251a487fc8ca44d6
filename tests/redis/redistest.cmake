# redistest.cmake: tests against a throwaway Redis server.
#
# Adds the tests redis_start (fixture setup "redis": redisserver.sh new)
# and redis_stop (fixture cleanup "redis": redisserver.sh destroy, after
# the last test that needs the server, even when tests fail), and defines
#
#   dbont_add_redis_test(NAME name COMMAND cmd args...
#                        [PRIVATE] [PG] [WORKING_DIRECTORY dir])
#
# which adds a test running `cmd args...` through with-redis.sh, with
# REDIS_HOST, REDIS_PORT and REDIS_URL set:
#   - by default against the fixture's server, shared by every such test
#     (keep to keys and channels named after the test; never stop it);
#   - with PRIVATE against a server of its own, started before the test
#     and destroyed after it, which the test may stop, kill, pause and
#     start again through REDIS_CTL ("$REDIS_CTL stop", "$REDIS_CTL start":
#     same port; see redisserver.sh for the verbs);
#   - with PG also against a fresh PostgreSQL database, DATABASE_URL set:
#     the test is added by dbont_add_pg_test (tests/pg/pgtest.cmake), which
#     runs with-pg.sh around with-redis.sh, and requires both fixtures.
# `ctest -R name` starts and stops what the test needs by itself.  COMMAND
# may use generator expressions ($<TARGET_FILE:...>).  Every such test has
# the label "redis".
#
# Include this file once (tests/redis/CMakeLists.txt does); CMake
# functions are global, so every later folder can call it.
include_guard(GLOBAL)

set(DBONT_REDIS_SCRIPTS_DIR ${CMAKE_CURRENT_LIST_DIR})
# One shared server per build tree; the state folder records it (redis.env).
set(DBONT_REDIS_STATE_DIR ${CMAKE_BINARY_DIR}/redis-state CACHE INTERNAL "redisserver.sh state folder")

add_test(NAME redis_start
  COMMAND bash ${DBONT_REDIS_SCRIPTS_DIR}/redisserver.sh new ${DBONT_REDIS_STATE_DIR})
set_tests_properties(redis_start PROPERTIES FIXTURES_SETUP redis TIMEOUT 60)
add_test(NAME redis_stop
  COMMAND bash ${DBONT_REDIS_SCRIPTS_DIR}/redisserver.sh destroy ${DBONT_REDIS_STATE_DIR})
set_tests_properties(redis_stop PROPERTIES FIXTURES_CLEANUP redis TIMEOUT 60)

function(dbont_add_redis_test)
  cmake_parse_arguments(PARSE_ARGV 0 arg "PRIVATE;PG" "NAME;WORKING_DIRECTORY" "COMMAND")
  if(NOT arg_NAME OR NOT arg_COMMAND)
    message(FATAL_ERROR "dbont_add_redis_test: NAME and COMMAND are required")
  endif()
  if(arg_UNPARSED_ARGUMENTS)
    message(FATAL_ERROR "dbont_add_redis_test(${arg_NAME}): unexpected arguments ${arg_UNPARSED_ARGUMENTS}")
  endif()

  if(arg_PRIVATE)
    set(server --private)
  else()
    set(server ${DBONT_REDIS_STATE_DIR})
  endif()
  # Paths come from this file's folder, whichever folder calls us.
  set(scripts ${CMAKE_CURRENT_FUNCTION_LIST_DIR})
  set(command bash ${scripts}/with-redis.sh ${server} ${arg_COMMAND})
  set(dir_args)
  if(arg_WORKING_DIRECTORY)
    set(dir_args WORKING_DIRECTORY ${arg_WORKING_DIRECTORY})
  endif()

  if(arg_PG)
    if(NOT COMMAND dbont_add_pg_test)
      message(FATAL_ERROR "dbont_add_redis_test(${arg_NAME}): PG needs tests/pg (dbont_add_pg_test)")
    endif()
    # with-pg.sh ... with-redis.sh ... cmd: the pg fixture comes with it.
    dbont_add_pg_test(NAME ${arg_NAME} COMMAND ${command} ${dir_args})
  else()
    add_test(NAME ${arg_NAME} COMMAND ${command} ${dir_args})
  endif()
  if(NOT arg_PRIVATE)
    set_property(TEST ${arg_NAME} APPEND PROPERTY FIXTURES_REQUIRED redis)
  endif()
  set_property(TEST ${arg_NAME} APPEND PROPERTY LABELS redis)
endfunction()
