// An input that can be read again from where it started, for a write
// transaction that may run more than once: a backend that retries a whole
// transaction after a serialization failure runs its closure again, and the
// closure must then see the same input.
//
// A stream that can seek (a regular file, a string) is sought back to where
// it was. One that cannot (a pipe, a terminal, a socket) is first copied to
// an unnamed temporary file (std::tmpfile: it has no name, so it is gone
// when closed or when the process dies) and read from there, so memory does
// not grow with the input however often it is read.
#pragma once

#include "util/result.hpp"

#include <cstdio>
#include <istream>
#include <memory>
#include <string>

namespace kanari {

class RereadableInput {
public:
  // Takes `in` from its current position. `what` names it in errors ("the
  // JSONL input"). Reading a stream that cannot seek, or writing its copy,
  // can fail: an operational error (exit 3).
  static Result<std::unique_ptr<RereadableInput>> open(std::istream& in, const std::string& what);
  virtual ~RereadableInput() = default;

  // The input from its start, once more.
  virtual Result<std::istream*> rewind() = 0;
  // Whether the input was copied to a temporary file (it could not seek).
  virtual bool spooled() const = 0;
};

} // namespace kanari
