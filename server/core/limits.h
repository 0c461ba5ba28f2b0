// What one request may ask of the daemon. Each bound is a flag of sejitsd
// (the name in the comment); a request beyond one gets INVALID_ARGUMENT
// (the request itself is too big or malformed) or RESOURCE_EXHAUSTED (it
// needs more of the daemon than it may have), with a message naming the
// bound and its flag.
#pragma once

#include <cstdint>

namespace sejits::server {

struct RequestLimits {
  int64_t max_request_bytes = int64_t{16} << 20;  // --max_request_bytes: one serialized request
  int64_t max_ast_nodes = 200000;                 // --max_ast_nodes: expressions and statements in a kernel
  int max_ast_depth = 1000;                       // --max_ast_depth: nesting of expressions and statements
  int max_arguments = 256;                        // --max_arguments: a kernel's arguments
  int64_t max_string_bytes = 4096;                // --max_string_bytes: any name, constant or parameter text
  int max_variants = 256;                         // --max_variants: variants timed in one report, variant parameters of a request
  int64_t max_artifact_bytes = int64_t{256} << 20;  // --max_artifact_bytes: one compiled artifact
  int max_queued_per_client = 1024;               // --max_queued_per_client: a client's Specialize calls waiting at once
  int max_running_per_client = 8;                 // --max_compiles_per_client: a client's Specialize calls running at once
};

}  // namespace sejits::server
