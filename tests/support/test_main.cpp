// Catch2's main for every loa test executable.
#define CATCH_CONFIG_MAIN
#include <catch2/catch.hpp>
