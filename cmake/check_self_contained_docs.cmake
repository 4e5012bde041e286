# The repository speaks of itself only: no text in README.md, CHANGELOG.md, docs/, include/,
# examples/, tests/, bench/ or scripts/ points outside it (../shared/, MATH.md, DESIGN.md) or
# numbers the history of its making ("issue 12", "stop 8"). Run by ctest as
#   cmake -DSOURCE_DIR=<repo> -P cmake/check_self_contained_docs.cmake
cmake_minimum_required(VERSION 3.21)
if(NOT DEFINED SOURCE_DIR)
  message(FATAL_ERROR "check_self_contained_docs.cmake: -DSOURCE_DIR=... is required")
endif()

file(GLOB_RECURSE files RELATIVE ${SOURCE_DIR}
     ${SOURCE_DIR}/include/*.hpp ${SOURCE_DIR}/docs/*.md ${SOURCE_DIR}/examples/*.cpp
     ${SOURCE_DIR}/tests/*.cpp ${SOURCE_DIR}/tests/*.hpp ${SOURCE_DIR}/bench/*.cpp ${SOURCE_DIR}/bench/*.hpp
     ${SOURCE_DIR}/bench/*.sh ${SOURCE_DIR}/scripts/*)
list(APPEND files README.md CHANGELOG.md CMakeLists.txt)
# This file names the patterns it looks for.
list(FILTER files EXCLUDE REGEX "^cmake/check_self_contained_docs\\.cmake$")
set(found "")
foreach(f IN LISTS files)
  if(NOT EXISTS ${SOURCE_DIR}/${f} OR IS_DIRECTORY ${SOURCE_DIR}/${f})
    continue()
  endif()
  file(STRINGS ${SOURCE_DIR}/${f} hits REGEX "\\.\\./shared|(^|[^A-Za-z_])(MATH|DESIGN|STYLE)\\.md|[Ii]ssue #?[0-9]|(^|[^A-Za-z_])stop [0-9]+([^0-9.]|$)")
  foreach(h IN LISTS hits)
    string(APPEND found "  ${f}: ${h}\n")
  endforeach()
endforeach()
if(NOT found STREQUAL "")
  message(FATAL_ERROR "text that points outside the repository or numbers work items:\n${found}")
endif()
list(LENGTH files n)
message("OK: ${n} files speak of the repository only")
