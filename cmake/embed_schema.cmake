# Embeds schema/NNNN_*.sql into a generated C++ source at build time, so the
# binary carries its migrations and a store never depends on files on disk.
file(GLOB KANARI_SCHEMA_FILES CONFIGURE_DEPENDS ${CMAKE_SOURCE_DIR}/schema/*.sql)
list(SORT KANARI_SCHEMA_FILES)
set(KANARI_SCHEMA_CPP ${CMAKE_BINARY_DIR}/generated/schema_embedded.cpp)
# A ';' inside a custom command's argument would split it (and end the
# shell command): pass the list '|'-separated.
string(REPLACE ";" "|" kanari_schema_arg "${KANARI_SCHEMA_FILES}")
add_custom_command(
  OUTPUT ${KANARI_SCHEMA_CPP}
  COMMAND ${CMAKE_COMMAND} -DOUT=${KANARI_SCHEMA_CPP} "-DFILES=${kanari_schema_arg}"
          -P ${CMAKE_SOURCE_DIR}/cmake/generate_schema.cmake
  DEPENDS ${KANARI_SCHEMA_FILES} ${CMAKE_SOURCE_DIR}/cmake/generate_schema.cmake
  COMMENT "Embedding schema migrations"
  VERBATIM)
