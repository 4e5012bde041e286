# Compiles one source with the gateaux target's flags (-fsyntax-only) and
# checks the outcome. Run by ctest as
#   cmake -DFLAGS_FILE=<build>/tests/compile_flags.cmake -DSOURCE=<file.cpp>
#         -DMODE=compiles|fails -P cmake/compile_check.cmake
# MODE=compiles: the file must compile (GATEAUX_SHOULD_FAIL undefined).
# MODE=fails:    with -DGATEAUX_SHOULD_FAIL the file must NOT compile, and the
#                fragment of its `// expect: <fragment>` line must appear in
#                the first 10 lines of the compiler output; with a
#                `// max-bytes: <n>` line the whole output must be at most n bytes.
cmake_minimum_required(VERSION 3.21)

foreach(var FLAGS_FILE SOURCE MODE)
  if(NOT DEFINED ${var})
    message(FATAL_ERROR "compile_check.cmake: -D${var}=... is required")
  endif()
endforeach()
include(${FLAGS_FILE})

# The first `count` lines of `text` (string ops only: compiler output holds
# '[' and ';', which CMake lists would mangle).
function(first_lines text count out)
  set(result "")
  set(rest "${text}")
  foreach(i RANGE 1 ${count})
    if(rest STREQUAL "")
      break()
    endif()
    string(FIND "${rest}" "\n" nl)
    if(nl EQUAL -1)
      string(APPEND result "${rest}\n")
      set(rest "")
    else()
      math(EXPR after "${nl} + 1")
      string(SUBSTRING "${rest}" 0 ${after} line)
      string(SUBSTRING "${rest}" ${after} -1 rest)
      string(APPEND result "${line}")
    endif()
  endforeach()
  set(${out} "${result}" PARENT_SCOPE)
endfunction()

# Command line: our include/ as -I, dependencies as -isystem, and the
# compiler's implicit directories dropped (-isystem /usr/include breaks
# libstdc++'s #include_next).
set(args ${GATEAUX_CXX_FLAGS} ${GATEAUX_OPTIONS} -fsyntax-only -fdiagnostics-color=never)
foreach(def IN LISTS GATEAUX_DEFINITIONS)
  list(APPEND args -D${def})
endforeach()
foreach(dir IN LISTS GATEAUX_INCLUDE_DIRS)
  if(dir IN_LIST GATEAUX_IMPLICIT_INCLUDE_DIRS)
    continue()
  endif()
  string(FIND "${dir}" "${GATEAUX_SOURCE_DIR}/" in_tree)
  if(in_tree EQUAL 0)
    list(APPEND args -I${dir})
  else()
    list(APPEND args -isystem ${dir})
  endif()
endforeach()

if(MODE STREQUAL "compiles")
  set(cmd ${GATEAUX_CXX} ${args} ${SOURCE})
elseif(MODE STREQUAL "fails")
  file(STRINGS ${SOURCE} expect_lines REGEX "^[ \t]*//[ \t]*expect:")
  list(LENGTH expect_lines n)
  if(NOT n EQUAL 1)
    message(FATAL_ERROR "${SOURCE}: needs exactly one `// expect: <message fragment>` line (found ${n})")
  endif()
  string(REGEX REPLACE "^[ \t]*//[ \t]*expect:[ \t]*" "" expect "${expect_lines}")
  string(STRIP "${expect}" expect)
  if(expect STREQUAL "")
    message(FATAL_ERROR "${SOURCE}: the `// expect:` line has an empty fragment")
  endif()
  set(cmd ${GATEAUX_CXX} ${args} -DGATEAUX_SHOULD_FAIL ${SOURCE})
else()
  message(FATAL_ERROR "compile_check.cmake: MODE must be compiles or fails, not '${MODE}'")
endif()

execute_process(COMMAND ${cmd} RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE out)
list(JOIN cmd " " cmd_text)

# Details go out verbatim (FATAL_ERROR would re-wrap the compiler's lines).
function(fail summary details)
  message("command: ${cmd_text}\n${details}")
  message(FATAL_ERROR "${summary}")
endfunction()

if(MODE STREQUAL "compiles")
  if(NOT rc EQUAL 0)
    first_lines("${out}" 40 head)
    fail("FAILED: ${SOURCE} does not compile (exit ${rc})"
         "--- first 40 lines of compiler output ---\n${head}")
  endif()
  if(NOT out STREQUAL "")
    message("${SOURCE} compiles, with diagnostics:\n${out}")
  endif()
  message("OK: ${SOURCE} compiles")
  return()
endif()

if(rc EQUAL 0)
  fail("FAILED: ${SOURCE} compiled with -DGATEAUX_SHOULD_FAIL; expected an error containing \"${expect}\""
       "${out}")
endif()
file(STRINGS ${SOURCE} max_lines REGEX "^[ \t]*//[ \t]*max-bytes:")
if(max_lines)
  string(REGEX REPLACE "^[ \t]*//[ \t]*max-bytes:[ \t]*([0-9]+).*" "\\1" max_bytes "${max_lines}")
  string(LENGTH "${out}" out_bytes)
  if(out_bytes GREATER max_bytes)
    fail("FAILED: ${SOURCE} fails as expected, but its compiler output is ${out_bytes} bytes, over the limit of ${max_bytes}"
         "${out}")
  endif()
endif()
first_lines("${out}" 10 head10)
string(FIND "${head10}" "${expect}" found)
if(found EQUAL -1)
  first_lines("${out}" 20 head20)
  fail("FAILED: ${SOURCE} fails to compile, but \"${expect}\" is not in the first 10 lines of the compiler output"
       "--- first 20 lines of compiler output ---\n${head20}")
endif()
string(LENGTH "${out}" out_bytes)
message("OK: ${SOURCE} fails with \"${expect}\" in the first 10 lines (${out_bytes} bytes of output)")
