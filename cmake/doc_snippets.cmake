# Checks the C++ code blocks of one markdown file (README.md, docs/*.md) against the library.
# Run by ctest as
#   cmake -DMARKDOWN=<file.md> -DCHECK=compile|copies [-DEXPECT_COPY=<path>]
#         [-DFLAGS_FILE=<build>/tests/compile_flags.cmake -DOUT_DIR=<dir>] -P cmake/doc_snippets.cmake
#
# The convention, for every block fenced as ```cpp (anything else, shell or compiler output, is
# fenced as ```sh, ```text, ```cmake, or with no language, and is not checked):
#
#   a copy      a block right below the line `<!-- snippet: copy of <path> -->` must be
#               byte-identical to that file (path from the repository root). The file is built
#               and tested elsewhere (README's training program is examples/tutorial.cpp).
#               CHECK=copies checks these, and EXPECT_COPY names a file that must have a copy.
#   a program   a block with a line starting `int main(` is a complete translation unit.
#   a fragment  any other block: statements (and local declarations) run inside a function, with
#               <gateaux/gateaux.hpp> included and `using namespace gateaux;` in force. Its
#               #include lines are moved to the top of the file. What it uses without declaring
#               (data, a network of an earlier block) it gets from a hidden setup, an HTML comment
#               right above the fence, which renders as nothing:
#                   <!-- snippet: setup
#                   tensor X, Y;
#                   -->
#               whose lines go before the block's, inside the same function.
#
# CHECK=compile compiles with the gateaux target's compiler and flags (-fsyntax-only, through
# cmake/compile_check.cmake): all fragments of the file as one translation unit, each in a
# function of its own namespace (one parse of the library instead of one per block), and each
# program as its own. `#line` directives make errors point at the markdown file's lines. A
# warning fails the check as an error does, except unused variables and values that fragments
# leave unused on purpose (`double L = prog.scalar(loss);`).
cmake_minimum_required(VERSION 3.21)

foreach(var MARKDOWN CHECK)
  if(NOT DEFINED ${var})
    message(FATAL_ERROR "doc_snippets.cmake: -D${var}=... is required")
  endif()
endforeach()
get_filename_component(source_dir "${CMAKE_CURRENT_LIST_DIR}/.." ABSOLUTE)
file(RELATIVE_PATH md_name "${source_dir}" "${MARKDOWN}")
file(READ "${MARKDOWN}" text)

# ------------------------------------------------------------------ parse the blocks
# Lines are taken with string(FIND) and kept in strings, never in CMake lists: C++ is full of ';'.
set(fragments "")        # the fragments' functions, in order
set(includes "")         # their #include lines
set(programs "")         # line numbers of complete programs (a list of numbers is safe)
set(copies_found "")
set(cpp_blocks 0)
set(errors "")
set(line_no 0)
set(in_block OFF)
set(in_comment OFF)
set(directive "")        # the last `<!-- snippet: ... -->`, with the line it ended on
set(directive_end 0)
set(rest "${text}")
while(NOT rest STREQUAL "")
  string(FIND "${rest}" "\n" nl)
  if(nl EQUAL -1)
    set(line "${rest}")
    set(rest "")
  else()
    string(SUBSTRING "${rest}" 0 ${nl} line)
    math(EXPR after "${nl} + 1")
    string(SUBSTRING "${rest}" ${after} -1 rest)
  endif()
  math(EXPR line_no "${line_no} + 1")

  if(in_block)
    if(line MATCHES "^```[ \t]*$")
      set(in_block OFF)
      if(lang STREQUAL "cpp")
        math(EXPR cpp_blocks "${cpp_blocks} + 1")
        if(kind STREQUAL "copy")
          list(APPEND copies_found "${copy_path}")
          if(NOT EXISTS "${source_dir}/${copy_path}")
            string(APPEND errors "${md_name}:${block_start}: the block is a copy of ${copy_path}, which does not exist\n")
          else()
            file(READ "${source_dir}/${copy_path}" original)
            if(NOT body STREQUAL original)
              string(APPEND errors "${md_name}:${block_start}: the block is not byte-identical to ${copy_path}; "
                                   "copy the file into it again")
              if(DEFINED OUT_DIR)
                string(MAKE_C_IDENTIFIER "${md_name}_${block_start}" stem)
                file(WRITE "${OUT_DIR}/${stem}.block" "${body}")
                string(APPEND errors " (diff ${OUT_DIR}/${stem}.block ${source_dir}/${copy_path})")
              endif()
              string(APPEND errors "\n")
            endif()
          endif()
        elseif(body MATCHES "(^|\n)int main\\(")
          list(APPEND programs ${block_start})
          set(program_${block_start} "${body}")
        else()
          math(EXPR first "${block_start} + 1")
          set(function_text "namespace snippet_${block_start} {  // ${md_name}, line ${block_start}\n[[maybe_unused]] void run() {\n")
          if(NOT setup STREQUAL "")
            string(APPEND function_text "#line ${setup_start} \"${MARKDOWN}\"\n${setup}")
          endif()
          string(APPEND function_text "#line ${first} \"${MARKDOWN}\"\n${code}}\n}  // namespace snippet_${block_start}\n\n")
          string(APPEND fragments "${function_text}")
        endif()
      endif()
    else()
      string(APPEND body "${line}\n")
      if(line MATCHES "^[ \t]*#[ \t]*include")
        string(APPEND includes "${line}\n")
        string(APPEND code "\n")   # keeps the #line numbering
      else()
        string(APPEND code "${line}\n")
      endif()
    endif()
    continue()
  endif()

  if(in_comment)
    if(line MATCHES "-->")
      set(in_comment OFF)
      set(directive_end ${line_no})
    else()
      string(APPEND directive_setup "${line}\n")
    endif()
    continue()
  endif()

  if(line MATCHES "^<!--[ \t]*snippet:")
    set(directive "${line}")
    set(directive_setup "")
    set(directive_start ${line_no})
    if(line MATCHES "-->")
      set(directive_end ${line_no})
    else()
      set(in_comment ON)
    endif()
    continue()
  endif()

  if(line MATCHES "^```([A-Za-z0-9_+-]*)")
    set(lang "${CMAKE_MATCH_1}")
    set(in_block ON)
    set(block_start ${line_no})
    set(body "")
    set(code "")
    set(setup "")
    set(kind "")
    math(EXPR above "${line_no} - 1")
    if(directive_end EQUAL above AND NOT directive STREQUAL "")
      if(NOT lang STREQUAL "cpp")
        string(APPEND errors "${md_name}:${line_no}: a snippet directive above a block fenced as '${lang}', not cpp\n")
      elseif(directive MATCHES "^<!--[ \t]*snippet:[ \t]*copy of[ \t]+([^ \t]+)[ \t]*-->")
        set(kind "copy")
        set(copy_path "${CMAKE_MATCH_1}")
      elseif(directive MATCHES "^<!--[ \t]*snippet:[ \t]*setup[ \t]*$")
        set(setup "${directive_setup}")
        math(EXPR setup_start "${directive_start} + 1")
      else()
        string(APPEND errors "${md_name}:${directive_start}: unknown snippet directive '${directive}' "
                             "(expected `<!-- snippet: copy of <path> -->` or a multi-line `<!-- snippet: setup`)\n")
      endif()
    endif()
    set(directive "")
  elseif(line MATCHES "^<!--[ \t]*snippet")
    string(APPEND errors "${md_name}:${line_no}: a snippet directive is written `<!-- snippet: ...`\n")
  endif()
endwhile()
if(in_block)
  string(APPEND errors "${md_name}:${block_start}: the block is never closed\n")
endif()

if(DEFINED EXPECT_COPY AND NOT EXPECT_COPY IN_LIST copies_found)
  string(APPEND errors "${md_name}: no block is marked `<!-- snippet: copy of ${EXPECT_COPY} -->`\n")
endif()
if(NOT errors STREQUAL "")
  message("${errors}")   # verbatim (FATAL_ERROR would re-wrap the lines)
  message(FATAL_ERROR "FAILED: ${md_name}")
endif()

if(CHECK STREQUAL "copies")
  list(LENGTH copies_found n)
  message("OK: ${md_name}: ${n} block(s) identical to their files: ${copies_found}")
  return()
elseif(NOT CHECK STREQUAL "compile")
  message(FATAL_ERROR "doc_snippets.cmake: CHECK must be compile or copies, not '${CHECK}'")
endif()

# ------------------------------------------------------------------ compile
foreach(var FLAGS_FILE OUT_DIR)
  if(NOT DEFINED ${var})
    message(FATAL_ERROR "doc_snippets.cmake: -D${var}=... is required for CHECK=compile")
  endif()
endforeach()
string(MAKE_C_IDENTIFIER "${md_name}" stem)
set(units "")
if(NOT fragments STREQUAL "")
  set(tu "${OUT_DIR}/${stem}.cpp")
  file(WRITE "${tu}"
"// Generated by cmake/doc_snippets.cmake from ${md_name}: its C++ fragments, one function each.
#include <gateaux/gateaux.hpp>
${includes}
#pragma GCC diagnostic ignored \"-Wunused-variable\"
#pragma GCC diagnostic ignored \"-Wunused-but-set-variable\"
using namespace gateaux;

${fragments}int main() {}
")
  list(APPEND units "${tu}")
endif()
foreach(start IN LISTS programs)
  set(tu "${OUT_DIR}/${stem}_program_${start}.cpp")
  math(EXPR first "${start} + 1")
  file(WRITE "${tu}" "#line ${first} \"${MARKDOWN}\"\n${program_${start}}")
  list(APPEND units "${tu}")
endforeach()
if(units STREQUAL "")
  message("OK: ${md_name} has no C++ blocks to compile (${cpp_blocks} copies)")
  return()
endif()

foreach(tu IN LISTS units)
  execute_process(
    COMMAND ${CMAKE_COMMAND} -DFLAGS_FILE=${FLAGS_FILE} -DSOURCE=${tu} -DMODE=compiles
            -P ${CMAKE_CURRENT_LIST_DIR}/compile_check.cmake
    RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE out)
  if(NOT rc EQUAL 0 OR out MATCHES "compiles, with diagnostics")
    message("${out}")
    message(FATAL_ERROR "FAILED: a C++ block of ${md_name} does not compile cleanly (generated: ${tu})")
  endif()
endforeach()
message("OK: ${md_name}: ${cpp_blocks} C++ block(s) compile (${units})")
