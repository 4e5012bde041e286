# Installs a gateaux build tree to a fresh prefix, then configures, builds and
# runs examples/consumer against it, as a user of the installed package would.
#   cmake -DBUILD_DIR=<gateaux build> -DCONSUMER_DIR=<examples/consumer>
#         -DWORK_DIR=<scratch dir> [-DCXX=<compiler>] -P cmake/install_consumer.cmake
cmake_minimum_required(VERSION 3.21)

foreach(var BUILD_DIR CONSUMER_DIR WORK_DIR)
  if(NOT DEFINED ${var})
    message(FATAL_ERROR "install_consumer.cmake: -D${var}=... is required")
  endif()
endforeach()

set(prefix ${WORK_DIR}/prefix)
set(consumer_build ${WORK_DIR}/build)
file(REMOVE_RECURSE ${WORK_DIR})

function(step what)
  message("== ${what}: ${ARGN}")
  execute_process(COMMAND ${ARGN} RESULT_VARIABLE rc)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "FAILED: ${what} (exit ${rc})")
  endif()
endfunction()

set(compiler_arg "")
if(DEFINED CXX)
  set(compiler_arg -DCMAKE_CXX_COMPILER=${CXX})
endif()

step("install" ${CMAKE_COMMAND} --install ${BUILD_DIR} --prefix ${prefix})
step("configure consumer" ${CMAKE_COMMAND} -S ${CONSUMER_DIR} -B ${consumer_build}
     -DCMAKE_BUILD_TYPE=Release -DCMAKE_PREFIX_PATH=${prefix} ${compiler_arg})

# The license travels with the package.
file(GLOB installed_license ${prefix}/share/licenses/gateaux/LICENSE)
if(NOT installed_license)
  message(FATAL_ERROR "FAILED: no LICENSE under ${prefix}/share/licenses/gateaux")
endif()
file(READ ${installed_license} license_text)
file(READ ${CONSUMER_DIR}/../../LICENSE source_license_text)
if(NOT license_text STREQUAL source_license_text)
  message(FATAL_ERROR "FAILED: the installed LICENSE differs from the repository's")
endif()

# The package must come from the fresh prefix, not from some other install.
file(STRINGS ${consumer_build}/CMakeCache.txt gateaux_dir REGEX "^gateaux_DIR:")
string(REGEX REPLACE "^gateaux_DIR:[A-Z]+=" "" gateaux_dir "${gateaux_dir}")
string(FIND "${gateaux_dir}" "${prefix}/" at)
if(NOT at EQUAL 0)
  message(FATAL_ERROR "FAILED: found gateaux in '${gateaux_dir}', not under ${prefix}")
endif()

step("build consumer" ${CMAKE_COMMAND} --build ${consumer_build})
step("run consumer" ${consumer_build}/app)
# gateaux::mpi travels in its own export, loaded where the consumer finds MPI: where this build
# offers it, the consumer must have built app_mpi (run without mpirun: one rank).
file(GLOB_RECURSE mpi_export ${prefix}/gateauxMpiTargets.cmake)
if(mpi_export)
  if(NOT EXISTS ${consumer_build}/app_mpi)
    message(FATAL_ERROR "FAILED: the package has gateaux::mpi, but the consumer did not build app_mpi")
  endif()
  step("run consumer (mpi)" ${consumer_build}/app_mpi)
endif()
message("OK: installed package works for examples/consumer")
