#include "codegen/sha256.h"

#include <openssl/evp.h>

#include <cstdint>
#include <fstream>

#include "absl/strings/str_cat.h"

namespace sejits::codegen {
namespace {

std::string to_hex(const unsigned char *bytes, unsigned int length) {
  static const char kDigits[] = "0123456789abcdef";
  std::string out(2 * length, '0');
  for (unsigned int i = 0; i < length; ++i) {
    out[2 * i] = kDigits[bytes[i] >> 4];
    out[2 * i + 1] = kDigits[bytes[i] & 15];
  }
  return out;
}

EVP_MD_CTX *new_context() {
  EVP_MD_CTX *context = EVP_MD_CTX_new();
  EVP_DigestInit_ex(context, EVP_sha256(), nullptr);
  return context;
}

std::string finish(EVP_MD_CTX *context) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  EVP_DigestFinal_ex(context, digest, &length);
  return to_hex(digest, length);
}

}  // namespace

std::string sha256_hex(std::string_view bytes) {
  EVP_MD_CTX *context = new_context();
  EVP_DigestUpdate(context, bytes.data(), bytes.size());
  std::string hex = finish(context);
  EVP_MD_CTX_free(context);
  return hex;
}

absl::StatusOr<std::string> sha256_file_hex(const std::filesystem::path &path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return absl::NotFoundError(absl::StrCat("cannot open ", path.string()));
  EVP_MD_CTX *context = new_context();
  char buffer[1 << 16];
  while (in) {
    in.read(buffer, sizeof buffer);
    EVP_DigestUpdate(context, buffer, static_cast<size_t>(in.gcount()));
  }
  bool failed = in.bad();
  std::string hex = finish(context);
  EVP_MD_CTX_free(context);
  if (failed) return absl::DataLossError(absl::StrCat("read error on ", path.string()));
  return hex;
}

TaggedHasher::TaggedHasher() : context_(new_context()) {}
TaggedHasher::~TaggedHasher() { EVP_MD_CTX_free(static_cast<EVP_MD_CTX *>(context_)); }

void TaggedHasher::add(std::string_view tag, std::string_view value) {
  auto *context = static_cast<EVP_MD_CTX *>(context_);
  std::string header = absl::StrCat(std::string(tag), ":", value.size(), ":");
  EVP_DigestUpdate(context, header.data(), header.size());
  EVP_DigestUpdate(context, value.data(), value.size());
}

std::string TaggedHasher::hex_digest() { return finish(static_cast<EVP_MD_CTX *>(context_)); }

}  // namespace sejits::codegen
