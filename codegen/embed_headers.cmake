# Writes a C++ file that holds the runtime headers as raw string literals.
file(READ ${ABI_HEADER} ABI_TEXT)
file(READ ${RUNTIME_HEADER} RUNTIME_TEXT)
file(WRITE ${OUTPUT} "#include \"codegen/runtime_headers.h\"\n
namespace sejits::codegen {
const std::vector<EmbeddedHeader> &runtime_headers() {
  static const std::vector<EmbeddedHeader> headers = {
    {\"kernel_abi.h\", R\"SEJITS_EMBED(${ABI_TEXT})SEJITS_EMBED\"},
    {\"kernel_runtime.h\", R\"SEJITS_EMBED(${RUNTIME_TEXT})SEJITS_EMBED\"},
  };
  return headers;
}
}  // namespace sejits::codegen
")
