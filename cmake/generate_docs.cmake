# Runs the built kanari to write its man page and shell completions
# (`kanari generate man|bash|zsh`, generated from the command tree itself).
#   cmake -DKANARI=path/to/kanari -DOUT_DIR=dir -P generate_docs.cmake
foreach(pair "man=kanari.1" "bash=kanari.bash" "zsh=_kanari")
  string(REPLACE "=" ";" pair "${pair}")
  list(GET pair 0 what)
  list(GET pair 1 file)
  execute_process(COMMAND "${KANARI}" generate ${what}
                  OUTPUT_FILE "${OUT_DIR}/${file}.tmp" ERROR_VARIABLE err RESULT_VARIABLE rc)
  if(NOT rc EQUAL 0)
    file(REMOVE "${OUT_DIR}/${file}.tmp")
    message(FATAL_ERROR "kanari generate ${what} failed (${rc}): ${err}")
  endif()
  file(RENAME "${OUT_DIR}/${file}.tmp" "${OUT_DIR}/${file}")
endforeach()
