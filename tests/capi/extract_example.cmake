# Writes the C program between the library-example markers of a Markdown
# file (the fenced block inside them) to OUT, so that the example the manual
# shows is the program the tests compile and run.
#   cmake -DIN=docs/library.md -DOUT=example.c -P extract_example.cmake
file(READ ${IN} text)
string(FIND "${text}" "<!-- library-example: begin -->" begin)
string(FIND "${text}" "<!-- library-example: end -->" end)
if(begin EQUAL -1 OR end EQUAL -1 OR end LESS begin)
  message(FATAL_ERROR "${IN} has no library-example block")
endif()
math(EXPR length "${end} - ${begin}")
string(SUBSTRING "${text}" ${begin} ${length} block)
string(REGEX MATCH "```c\n(.*)```" fenced "${block}")
if(NOT fenced)
  message(FATAL_ERROR "the library-example block of ${IN} holds no ```c fence")
endif()
file(WRITE ${OUT}.tmp "/* Generated from ${IN}; edit it there. */\n${CMAKE_MATCH_1}")
file(COPY_FILE ${OUT}.tmp ${OUT} ONLY_IF_DIFFERENT)
file(REMOVE ${OUT}.tmp)
