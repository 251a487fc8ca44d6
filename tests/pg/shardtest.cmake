# shardtest.cmake: tests against a private set of PostgreSQL shards.
#
#   dbont_add_shard_test(NAME name COMMAND cmd args...
#                        [SHARDS n] [TIMEOUT seconds] [WORKING_DIRECTORY dir])
#
# adds a test running `cmd args...` through `with-shards.sh --private`:
# against a set of its own, started before the command and destroyed after
# it (also when it fails, is interrupted, or is killed by ctest's timeout):
# n (default 4) PostgreSQL servers, the shards' primaries, and a
# streaming-replication standby of shard 0, on private loopback ports
# (see shardcluster.sh).  The command finds them in
#   DBONT_SHARD_COUNT, DBONT_SHARD_<I>_PRIMARY, DBONT_SHARD_0_STANDBY
#       (libpq URIs: postgresql://postgres@127.0.0.1:PORT/postgres)
#   DBONT_SHARDS_CONF (a file: "shards N", "shard I primary DSN",
#       "shard I standby DSN")
# and stops and starts them with $SHARDS_CTL: "$SHARDS_CTL stop-shard 2",
# "$SHARDS_CTL start-shard 2" (same port), kill-shard I, stop-standby,
# start-standby, "$SHARDS_CTL wait-standby" (until the standby has replayed
# what shard 0 committed).  Sets are independent: such tests may run in
# parallel, with each other and with the "pg" fixture's cluster.  The data
# directories are copied from templates that the first set makes in
# <build>/shards-template (one initdb per shard index; each shard of a set
# has its own system identifier).  COMMAND may use generator expressions.
# Every such test has the labels "pg" and "shards"; TIMEOUT defaults to 300.
#
# Include this file once (tests/pg/CMakeLists.txt does); CMake functions
# are global, so every later folder can call dbont_add_shard_test.
include_guard(GLOBAL)

set(DBONT_SHARDS_TEMPLATE_DIR ${CMAKE_BINARY_DIR}/shards-template
  CACHE INTERNAL "shardcluster.sh's initdb templates")

function(dbont_add_shard_test)
  cmake_parse_arguments(PARSE_ARGV 0 arg "" "NAME;SHARDS;TIMEOUT;WORKING_DIRECTORY" "COMMAND")
  if(NOT arg_NAME OR NOT arg_COMMAND)
    message(FATAL_ERROR "dbont_add_shard_test: NAME and COMMAND are required")
  endif()
  if(arg_UNPARSED_ARGUMENTS)
    message(FATAL_ERROR "dbont_add_shard_test(${arg_NAME}): unexpected arguments ${arg_UNPARSED_ARGUMENTS}")
  endif()
  if(NOT arg_SHARDS)
    set(arg_SHARDS 4)
  endif()
  if(NOT arg_TIMEOUT)
    set(arg_TIMEOUT 300)
  endif()

  # Paths come from this file's folder, whichever folder calls us.
  set(scripts ${CMAKE_CURRENT_FUNCTION_LIST_DIR})
  set(dir_args)
  if(arg_WORKING_DIRECTORY)
    set(dir_args WORKING_DIRECTORY ${arg_WORKING_DIRECTORY})
  endif()
  add_test(NAME ${arg_NAME}
    COMMAND bash ${scripts}/with-shards.sh --private --shards ${arg_SHARDS} ${arg_COMMAND}
    ${dir_args})
  set_tests_properties(${arg_NAME} PROPERTIES
    ENVIRONMENT "SHARDS_TEMPLATE_DIR=${DBONT_SHARDS_TEMPLATE_DIR}"
    LABELS "pg;shards"
    TIMEOUT ${arg_TIMEOUT})
endfunction()
