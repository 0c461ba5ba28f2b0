// What the daemon's TCP port and its upstream connection authenticate with:
// token files and TLS credentials, read once at start.
#pragma once

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "grpcpp/security/server_credentials.h"

namespace sejits::server::rpc {

// The token in `path` (surrounding whitespace removed); an error if the file
// is unreadable or empty. Warns when others may read it.
absl::StatusOr<std::string> read_token_file(const std::string &path);

// TLS when `cert_file` is given (with `key_file`; `client_ca_file` also
// requires and verifies client certificates), else plain TCP.
absl::StatusOr<std::shared_ptr<grpc::ServerCredentials>> tcp_server_credentials(const std::string &cert_file,
                                                                                const std::string &key_file,
                                                                                const std::string &client_ca_file);

}  // namespace sejits::server::rpc
