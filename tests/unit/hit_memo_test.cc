// HitMemo: the same request bytes find the same answer, other bytes find
// nothing, and the memo stays within its byte bound. The reply with
// specialize_seconds appended parses to the original response.
#include <string>

#include <catch2/catch.hpp>

#include "sejits/v1/specializer.pb.h"
#include "server/rpc/hit_memo.h"

namespace sejits::server::rpc {
namespace {

HitMemo::Answer answer_for(const std::string &digest) { return HitMemo::Answer{digest, "reply of " + digest}; }

TEST_CASE("the same bytes find the answer, other bytes find nothing", "[hit_memo]") {
  HitMemo memo;
  const std::string request("\x0a\x03" "abc\x12\x00", 7);  // embedded zero bytes are part of the key
  memo.remember(request, answer_for("d1"));
  auto found = memo.find(request);
  REQUIRE(found);
  CHECK(found->artifact_digest == "d1");
  CHECK(found->reply == "reply of d1");
  CHECK_FALSE(memo.find(request.substr(0, 6)));
  CHECK_FALSE(memo.find(request + "x"));
  std::string one_bit_off = request;
  one_bit_off[6] = '\x01';
  CHECK_FALSE(memo.find(one_bit_off));
}

TEST_CASE("remembering again replaces, forgetting removes", "[hit_memo]") {
  HitMemo memo;
  memo.remember("request", answer_for("old"));
  memo.remember("request", answer_for("new"));
  CHECK(memo.size() == 1);
  CHECK(memo.find("request")->artifact_digest == "new");
  memo.forget("request");
  CHECK_FALSE(memo.find("request"));
  memo.forget("never remembered");
  CHECK(memo.size() == 0);
}

TEST_CASE("an answer found stays valid after it is forgotten", "[hit_memo]") {
  HitMemo memo;
  memo.remember("request", answer_for("d"));
  auto held = memo.find("request");
  memo.forget("request");
  CHECK(held->artifact_digest == "d");
}

TEST_CASE("large requests are not remembered and the memo keeps its byte bound", "[hit_memo]") {
  HitMemo memo;
  memo.remember(std::string(HitMemo::kMaxRequestBytes + 1, 'x'), answer_for("big"));
  CHECK(memo.size() == 0);

  // Requests of 32 KiB: the bound holds kMaxTotalBytes / 32 KiB of them, less the replies.
  const size_t request_bytes = 32 * 1024;
  const size_t fit = HitMemo::kMaxTotalBytes / request_bytes - 1;
  for (size_t i = 0; i < fit; ++i) memo.remember(std::to_string(i) + std::string(request_bytes - 8, '.'), answer_for("d"));
  CHECK(memo.size() == fit);
  for (size_t i = 0; i < 2; ++i) memo.remember("more" + std::to_string(i) + std::string(request_bytes - 8, '.'), answer_for("d"));
  CHECK(memo.size() < fit);  // it started again rather than grow past the bound
  CHECK(memo.find("more1" + std::string(request_bytes - 8, '.')));
}

TEST_CASE("specialize_seconds appended to a reply parses back", "[hit_memo]") {
  v1::SpecializeResponse response;
  response.set_key(std::string(64, 'a'));
  response.set_artifact_digest(std::string(64, 'b'));
  response.set_outcome(v1::HIT);
  response.add_notes("a note");
  std::string bytes = response.SerializeAsString();
  append_specialize_seconds(bytes, 0.000125);
  v1::SpecializeResponse parsed;
  REQUIRE(parsed.ParseFromString(bytes));
  CHECK(parsed.specialize_seconds() == 0.000125);
  CHECK(parsed.key() == response.key());
  CHECK(parsed.notes(0) == "a note");
  CHECK(parsed.outcome() == v1::HIT);

  std::string unchanged = response.SerializeAsString();
  append_specialize_seconds(unchanged, 0);
  CHECK(unchanged == response.SerializeAsString());
}

}  // namespace
}  // namespace sejits::server::rpc
