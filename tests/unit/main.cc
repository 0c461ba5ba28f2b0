// The one Catch2 entry point; each *_test.cc holds the cases of one layer.
#define CATCH_CONFIG_MAIN
#include <catch2/catch.hpp>
