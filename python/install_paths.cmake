# Run by `cmake --install` (python/CMakeLists.txt sets KANARI_PY_DIR,
# KANARI_LIB_DIR and KANARI_SONAME before): writes kanari/_paths.py, the
# path from the installed package to the installed libkanari, relative to
# the package so that a prefix given at install time, a DESTDIR or a .deb
# unpacked anywhere still finds its own library.
foreach(v KANARI_PY_DIR KANARI_LIB_DIR)
  if(NOT IS_ABSOLUTE "${${v}}")
    set(${v} "${CMAKE_INSTALL_PREFIX}/${${v}}")
  endif()
endforeach()
file(RELATIVE_PATH rel "${KANARI_PY_DIR}/kanari" "${KANARI_LIB_DIR}/${KANARI_SONAME}")
set(out "$ENV{DESTDIR}${KANARI_PY_DIR}/kanari/_paths.py")
message(STATUS "Installing: ${out}")
file(WRITE "${out}" "\"\"\"Written by cmake --install: where this package finds libkanari.\"\"\"
import os

LIBRARY = os.path.join(os.path.dirname(os.path.abspath(__file__)), \"${rel}\")
")
list(APPEND CMAKE_INSTALL_MANIFEST_FILES "${out}")
