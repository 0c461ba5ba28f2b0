#include "server/rpc/auth.h"

#include <openssl/crypto.h>

#include "codegen/sha256.h"
#include "spdlog/spdlog.h"

namespace sejits::server::rpc {

TokenCheck::TokenCheck(std::string token, Stats &stats, PeerRegistry &peers)
    : expected_digest_(token.empty() ? "" : codegen::sha256_hex("Bearer " + token)), stats_(stats), peers_(peers) {}

grpc::Status TokenCheck::check(const grpc::ServerContextBase &context) const {
  if (expected_digest_.empty() || PeerRegistry::is_local(context)) return grpc::Status::OK;
  const auto &metadata = context.client_metadata();
  auto header = metadata.find("authorization");
  // Digests have one length whatever was sent, so the comparison's time says
  // nothing about the token.
  std::string sent_digest = codegen::sha256_hex(header == metadata.end() ? "" : std::string(header->second.data(), header->second.size()));
  if (CRYPTO_memcmp(sent_digest.data(), expected_digest_.data(), expected_digest_.size()) == 0) return grpc::Status::OK;
  ++stats_.unauthenticated;
  const bool missing = header == metadata.end();
  spdlog::warn("auth: refused a call from {}: {} token", peers_.identify(context), missing ? "no" : "wrong");
  return grpc::Status(grpc::StatusCode::UNAUTHENTICATED,
                      missing ? "this daemon requires a bearer token (SEJITS_TOKEN or sejits.config(token=...))"
                              : "the bearer token was not accepted (check SEJITS_TOKEN or sejits.config(token=...))");
}

}  // namespace sejits::server::rpc
