# Called after kanari_tests is built (tests/CMakeLists.txt): registers each
# of its test cases that FILTERS leave in as PREFIX<name>, a CTest test of
# its own, run with the environment ENV (docs/testing.md). Writes OUT.
string(REPLACE "|" ";" FILTERS "${FILTERS}")
execute_process(COMMAND ${EXECUTABLE} ${FILTERS} --list-test-cases
                OUTPUT_VARIABLE listing RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "${EXECUTABLE} --list-test-cases failed: ${rc}")
endif()
string(REPLACE "\n" ";" lines "${listing}")
set(script "")
foreach(name ${lines})
  if(name STREQUAL "" OR name MATCHES "^=+$" OR name MATCHES "^\\[doctest\\] ")
    continue()
  endif()
  # doctest splits --test-case at commas unless they are escaped.
  string(REPLACE "," "\\," filter "${name}")
  set(serial "")
  if(SERIAL AND name MATCHES "${SERIAL}")
    set(serial " RUN_SERIAL TRUE")
  endif()
  string(APPEND script "add_test([==[${PREFIX}${name}]==] \"${EXECUTABLE}\" [==[--test-case=${filter}]==])\n"
         "set_tests_properties([==[${PREFIX}${name}]==] PROPERTIES WORKING_DIRECTORY \"${WORKING_DIR}\""
         " ${PROPERTIES}${serial})\n")
endforeach()
file(WRITE ${OUT} "${script}")
