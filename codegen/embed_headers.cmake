# Writes a C++ file that holds the runtime headers (HEADERS: files separated
# by "|") as raw string literals, each under its file name.
string(REPLACE "|" ";" HEADERS "${HEADERS}")
set(ENTRIES "")
foreach(header ${HEADERS})
  file(READ ${header} TEXT)
  get_filename_component(NAME ${header} NAME)
  string(APPEND ENTRIES "    {\"${NAME}\", R\"SEJITS_EMBED(${TEXT})SEJITS_EMBED\"},\n")
endforeach()
file(WRITE ${OUTPUT} "#include \"codegen/runtime_headers.h\"\n
namespace sejits::codegen {
const std::vector<EmbeddedHeader> &runtime_headers() {
  static const std::vector<EmbeddedHeader> headers = {
${ENTRIES}  };
  return headers;
}
}  // namespace sejits::codegen
")
