#include "server/rpc/credentials.h"

#include <sys/stat.h>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "codegen/atomic_file.h"
#include "grpcpp/security/server_credentials.h"
#include "spdlog/spdlog.h"

namespace sejits::server::rpc {
namespace {

absl::StatusOr<std::string> read_pem(const std::string &path, const char *what) {
  auto text = codegen::read_file(path);
  if (!text.ok()) return absl::FailedPreconditionError(absl::StrCat("cannot read the ", what, " ", path, ": ", text.status().message()));
  if (text->find("-----BEGIN") == std::string::npos) {
    return absl::FailedPreconditionError(absl::StrCat(path, " is not PEM (the ", what, ")"));
  }
  return text;
}

}  // namespace

absl::StatusOr<std::string> read_token_file(const std::string &path) {
  auto text = codegen::read_file(path);
  if (!text.ok()) return absl::FailedPreconditionError(absl::StrCat("cannot read the token file ", path, ": ", text.status().message()));
  std::string token(absl::StripAsciiWhitespace(*text));
  if (token.empty()) return absl::FailedPreconditionError(absl::StrCat("the token file ", path, " is empty"));
  struct stat info;
  if (stat(path.c_str(), &info) == 0 && (info.st_mode & S_IROTH)) {
    spdlog::warn("the token file {} is readable by every user; chmod 600 it", path);
  }
  return token;
}

absl::StatusOr<std::shared_ptr<grpc::ServerCredentials>> tcp_server_credentials(const std::string &cert_file,
                                                                                const std::string &key_file,
                                                                                const std::string &client_ca_file) {
  if (cert_file.empty() != key_file.empty()) return absl::InvalidArgumentError("--tls_cert and --tls_key go together");
  if (cert_file.empty()) {
    if (!client_ca_file.empty()) return absl::InvalidArgumentError("--tls_client_ca needs --tls_cert and --tls_key");
    return grpc::InsecureServerCredentials();
  }
  auto cert = read_pem(cert_file, "TLS certificate");
  if (!cert.ok()) return cert.status();
  auto key = read_pem(key_file, "TLS key");
  if (!key.ok()) return key.status();
  grpc::SslServerCredentialsOptions options(GRPC_SSL_DONT_REQUEST_CLIENT_CERTIFICATE);
  options.pem_key_cert_pairs.push_back({*key, *cert});
  if (!client_ca_file.empty()) {
    auto roots = read_pem(client_ca_file, "client CA");
    if (!roots.ok()) return roots.status();
    options.pem_root_certs = *roots;
    options.client_certificate_request = GRPC_SSL_REQUEST_AND_REQUIRE_CLIENT_CERTIFICATE_AND_VERIFY;
  }
  return grpc::SslServerCredentials(options);
}

}  // namespace sejits::server::rpc
