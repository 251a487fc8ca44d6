# dbontGenerate.cmake: dbont_generate(), the CMake face of dbont-gen.
#
#   dbont_generate(<target>
#                  ONTOLOGY <file.ttl>...
#                  [PREFIX <name>]           default: the first file's base name
#                  [OUTPUT_DIR <dir>]        default: ${CMAKE_CURRENT_BINARY_DIR}/<target>
#                  [MIGRATIONS_DIR <dir>]    default: ${CMAKE_CURRENT_SOURCE_DIR}/migrations
#                  [SKELETON_DIR <dir>]      m4 skeletons to use instead of dbont's
#                  [CHECK_DSN <dsn>]         type the queries with this PostgreSQL
#                                            (scratch schema, rolled back); the answer
#                                            goes into QUERY_CACHE
#                  [QUERY_CACHE <file>])     default: <ontology dir>/<PREFIX>.querytypes;
#                                            commit it, so builds without a server
#                                            generate the same code
#
# Like FindBISON's BISON_TARGET, it adds a custom command that runs
# dbont-gen whenever an ontology file (or dbont-gen) changes, writing
# <PREFIX>.h and <PREFIX>.c into OUTPUT_DIR, in the build tree.  That
# command runs with --verify-migrations: when the ontology has changes that
# MIGRATIONS_DIR holds no migration for yet (including a first migration),
# the build fails and names them.  It also adds:
#   <target>              a static library of the generated code, linked to
#                         dbont::dbont; link it and #include "<PREFIX>.h".
#   <target>_migrations   writes the migration the ontology needs (and its
#                         .down.sql and the new snapshot) into MIGRATIONS_DIR;
#                         a developer runs it, reviews the files and commits
#                         them.  It refuses changes that destroy data.
#   <target>_migrations_destructive
#                         the same with --allow-destructive: drops and
#                         narrowing changes, each commented with what it
#                         destroys.
#   <target>_migrate      runs dbont-migrate --dir MIGRATIONS_DIR up against
#                         $DATABASE_URL (make it a build step with
#                         add_dependencies, or run it by hand).
# MIGRATIONS_DIR is history: keep it in the source tree and commit it.
#
# Variables set for the caller: <target>_HEADER, <target>_SOURCE,
# <target>_OUTPUT_DIR, <target>_MIGRATIONS_DIR, <target>_QUERY_CACHE.
#
# The executables come from the targets dbont::gen and dbont::migrate: in
# dbont's own build tree they are the programs being built; after
# find_package(dbont) they are the installed ones.
include_guard(GLOBAL)

function(dbont_generate target)
  cmake_parse_arguments(PARSE_ARGV 1 arg "" "PREFIX;OUTPUT_DIR;MIGRATIONS_DIR;SKELETON_DIR;CHECK_DSN;QUERY_CACHE"
                        "ONTOLOGY")
  if(arg_UNPARSED_ARGUMENTS)
    message(FATAL_ERROR "dbont_generate(${target}): unexpected arguments: ${arg_UNPARSED_ARGUMENTS}")
  endif()
  if(NOT arg_ONTOLOGY)
    message(FATAL_ERROR "dbont_generate(${target}): ONTOLOGY <file.ttl>... is required")
  endif()
  foreach(tool dbont::gen dbont::migrate)
    if(NOT TARGET ${tool})
      message(FATAL_ERROR "dbont_generate(${target}): ${tool} is not defined; use find_package(dbont)")
    endif()
  endforeach()

  set(ontologies)
  foreach(file IN LISTS arg_ONTOLOGY)
    get_filename_component(file "${file}" ABSOLUTE BASE_DIR "${CMAKE_CURRENT_SOURCE_DIR}")
    list(APPEND ontologies "${file}")
  endforeach()

  set(prefix "${arg_PREFIX}")
  if(NOT prefix)
    list(GET ontologies 0 first)
    get_filename_component(prefix "${first}" NAME_WLE)
    string(REGEX REPLACE "[^A-Za-z0-9_]" "_" prefix "${prefix}")
  endif()
  set(out "${arg_OUTPUT_DIR}")
  if(NOT out)
    set(out "${CMAKE_CURRENT_BINARY_DIR}/${target}")
  endif()
  get_filename_component(out "${out}" ABSOLUTE BASE_DIR "${CMAKE_CURRENT_BINARY_DIR}")
  set(migrations "${arg_MIGRATIONS_DIR}")
  if(NOT migrations)
    set(migrations "${CMAKE_CURRENT_SOURCE_DIR}/migrations")
  endif()
  get_filename_component(migrations "${migrations}" ABSOLUTE BASE_DIR "${CMAKE_CURRENT_SOURCE_DIR}")
  set(skeleton_args)
  set(skeleton_deps)
  if(arg_SKELETON_DIR)
    get_filename_component(skeletons "${arg_SKELETON_DIR}" ABSOLUTE BASE_DIR "${CMAKE_CURRENT_SOURCE_DIR}")
    set(skeleton_args --skeleton-dir "${skeletons}")
    file(GLOB skeleton_deps "${skeletons}/*.m4")
  endif()

  set(cache_args)
  set(cache_deps)
  if(arg_QUERY_CACHE)
    get_filename_component(cache "${arg_QUERY_CACHE}" ABSOLUTE BASE_DIR "${CMAKE_CURRENT_SOURCE_DIR}")
  else()
    list(GET ontologies 0 first)
    get_filename_component(first_dir "${first}" DIRECTORY)
    set(cache "${first_dir}/${prefix}.querytypes")
  endif()
  list(APPEND cache_args --query-cache "${cache}")
  if(arg_CHECK_DSN)
    list(APPEND cache_args --check-dsn "${arg_CHECK_DSN}")
  endif()
  # A changed cache (pulled from version control) regenerates the code.
  if(EXISTS "${cache}")
    set(cache_deps "${cache}")
  endif()

  set(header "${out}/${prefix}.h")
  set(source "${out}/${prefix}.c")
  # dbont-gen leaves unchanged files alone (so nothing recompiles when an
  # ontology edit does not change the code); the stamp records the run.
  set(stamp "${out}/${prefix}.dbont-stamp")
  set(gen_args -o "${out}" --migrations-dir "${migrations}" --prefix "${prefix}" ${skeleton_args} ${cache_args})
  add_custom_command(
    OUTPUT "${stamp}"
    BYPRODUCTS "${header}" "${source}"
    COMMAND dbont::gen --verify-migrations ${gen_args} ${ontologies}
    COMMAND "${CMAKE_COMMAND}" -E touch "${stamp}"
    DEPENDS ${ontologies} ${skeleton_deps} ${cache_deps} dbont::gen
    COMMENT "dbont-gen: ${prefix}.h and ${prefix}.c from ${arg_ONTOLOGY}"
    VERBATIM)

  add_library(${target} STATIC "${source}" "${header}" "${stamp}")
  target_include_directories(${target} PUBLIC "${out}")
  target_link_libraries(${target} PUBLIC dbont::dbont)

  add_custom_target(${target}_migrations
    COMMAND dbont::gen ${gen_args} ${ontologies}
    DEPENDS ${ontologies} ${skeleton_deps} dbont::gen
    COMMENT "dbont-gen: writing the migration ${arg_ONTOLOGY} needs into ${migrations}"
    VERBATIM)
  add_custom_target(${target}_migrations_destructive
    COMMAND dbont::gen --allow-destructive ${gen_args} ${ontologies}
    DEPENDS ${ontologies} ${skeleton_deps} dbont::gen
    COMMENT "dbont-gen: writing the migration ${arg_ONTOLOGY} needs into ${migrations}, data-destroying changes included"
    VERBATIM)

  add_custom_target(${target}_migrate
    COMMAND dbont::migrate --dir "${migrations}" up
    DEPENDS "${stamp}"
    COMMENT "dbont-migrate: applying ${migrations} to \$DATABASE_URL"
    VERBATIM)

  set(${target}_HEADER "${header}" PARENT_SCOPE)
  set(${target}_SOURCE "${source}" PARENT_SCOPE)
  set(${target}_OUTPUT_DIR "${out}" PARENT_SCOPE)
  set(${target}_MIGRATIONS_DIR "${migrations}" PARENT_SCOPE)
  set(${target}_QUERY_CACHE "${cache}" PARENT_SCOPE)
endfunction()
