/*
 * The C++ wrapper lives with the other bindings, in
 * bindings/cpp/include/at_tracker.hpp; this header forwards to it so that
 * `#include "at_tracker.hpp"` with <attracker>/include on the include path
 * keeps working. An install copies the wrapper itself beside at_tracker.h
 * (<prefix>/include/attracker/at_tracker.hpp).
 */
#include "../bindings/cpp/include/at_tracker.hpp"
