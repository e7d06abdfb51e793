# Embeds each backend's schema/<backend>/NNNN_*.sql into a generated C++
# source at build time, so the binary carries its migrations and a store
# never depends on files on disk. Both backends number their migrations
# alike: schema version N means the same tables on either.
set(KANARI_SCHEMA_CPP "")
foreach(backend sqlite postgresql)
  file(GLOB files CONFIGURE_DEPENDS ${CMAKE_SOURCE_DIR}/schema/${backend}/*.sql)
  list(SORT files)
  set(out ${CMAKE_BINARY_DIR}/generated/schema_${backend}.cpp)
  # A ';' inside a custom command's argument would split it (and end the
  # shell command): pass the list '|'-separated.
  string(REPLACE ";" "|" files_arg "${files}")
  add_custom_command(
    OUTPUT ${out}
    COMMAND ${CMAKE_COMMAND} -DOUT=${out} "-DFILES=${files_arg}" -DFUNCTION=${backend}_migrations
            -P ${CMAKE_SOURCE_DIR}/cmake/generate_schema.cmake
    DEPENDS ${files} ${CMAKE_SOURCE_DIR}/cmake/generate_schema.cmake
    COMMENT "Embedding the ${backend} schema migrations"
    VERBATIM)
  list(APPEND KANARI_SCHEMA_CPP ${out})
endforeach()
