// gzip from independently compressed pieces (http/gzip.h) and the /metrics body built from them
// (Store::body): what a client inflates must be exactly the plain text, however the pieces fall.
#include <catch2/catch.hpp>
#include <zlib.h>

#include <string>
#include <vector>

#include "base/gzip.h"
#include "metrics/exposition.h"
#include "metrics/store.h"

namespace {

using pghealthd::base::deflate_piece;
using pghealthd::base::Deflated;
using pghealthd::base::GzipTrailer;

// Inflates a whole gzip stream the way clients do (zlib, gzip framing, CRC and length checked);
// fails the test if it is not exactly one valid member.
std::string gunzip(const std::string& in) {
  z_stream zs{};
  REQUIRE(inflateInit2(&zs, 15 + 16) == Z_OK);
  zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
  zs.avail_in = static_cast<uInt>(in.size());
  std::string out;
  int rc = Z_OK;
  while (rc == Z_OK) {
    char buf[16384];
    zs.next_out = reinterpret_cast<Bytef*>(buf);
    zs.avail_out = sizeof buf;
    rc = inflate(&zs, Z_NO_FLUSH);
    out.append(buf, sizeof buf - zs.avail_out);
  }
  const auto left = zs.avail_in;
  inflateEnd(&zs);
  REQUIRE(rc == Z_STREAM_END);  // trailer present, CRC-32 and size match
  REQUIRE(left == 0);           // nothing after the member
  return out;
}

std::string gzip_of(const std::vector<std::string>& texts) {
  std::vector<Deflated> pieces;
  for (const auto& t : texts) pieces.push_back(deflate_piece(t));
  GzipTrailer trailer;
  std::string out(GzipTrailer::header());
  for (const auto& p : pieces) {
    trailer.add(p);
    out += p.data;
  }
  return out + trailer.end();
}

std::string text_of(std::size_t bytes, unsigned seed) {
  std::string s;
  unsigned x = seed;
  while (s.size() < bytes) {
    x = x * 1103515245u + 12345u;
    s += "pghealthd_table_live_tuples{relname=\"t_" + std::to_string(x % 100000) + "\"} " +
         std::to_string(x % 977) + "\n";
  }
  return s;
}

}  // namespace

TEST_CASE("gzip pieces concatenate into one member that inflates to the joined text", "[gzip]") {
  const std::vector<std::string> texts{"# HELP a b\n", text_of(300000, 1), "x", text_of(70000, 2)};
  std::string joined;
  for (const auto& t : texts) joined += t;
  CHECK(gunzip(gzip_of(texts)) == joined);
}

TEST_CASE("one deflater's pieces, incompressible ones larger than its output step among them, inflate exactly",
          "[gzip]") {
  // Random bytes do not compress: the output outgrows its 16 KiB steps many times within one piece, and
  // the deflater is reused between pieces of every kind.
  std::string noise(1 << 20, '\0');
  unsigned x = 7;
  for (auto& c : noise) {
    x = x * 1103515245u + 12345u;
    c = static_cast<char>(x >> 24);
  }
  const std::vector<std::string> texts{noise, text_of(200000, 3), "", noise.substr(0, 40000), "z"};
  pghealthd::base::Deflater deflater;
  GzipTrailer trailer;
  std::string body(GzipTrailer::header()), joined;
  for (const auto& t : texts) {
    const auto piece = deflater.piece(t);
    CHECK(piece.size == t.size());
    CHECK(piece.crc == crc32_z(0, reinterpret_cast<const Bytef*>(t.data()), t.size()));  // zlib's CRC-32
    CHECK(pghealthd::base::inflate_piece(piece) == t);
    trailer.add(piece);
    body += piece.data;
    joined += t;
  }
  CHECK(gunzip(body + trailer.end()) == joined);
}

TEST_CASE("gzip of no pieces and of empty pieces is a valid empty body", "[gzip]") {
  CHECK(gunzip(gzip_of({})).empty());
  CHECK(gunzip(gzip_of({"", ""})).empty());
  CHECK(gunzip(gzip_of({"", "a", ""})) == "a");
}

TEST_CASE("a gzip piece compresses repetitive exposition text well", "[gzip]") {
  const auto text = text_of(1000000, 3);
  const auto piece = deflate_piece(text);
  CHECK(piece.size == text.size());
  CHECK(piece.data.size() < text.size() / 4);
}

namespace {

// Puts `rows` as database `datname`'s stat_user_tables snapshot into `store` (target "t"); returns it.
std::shared_ptr<pghealthd::metrics::Snapshot> put_tables(pghealthd::metrics::Store& store, const std::string& datname,
                                                          const std::vector<pghealthd::model::TableStats>& rows) {
  const pghealthd::metrics::DbKey key{"t", datname};
  store.add_database(key);
  auto snap = std::make_shared<pghealthd::metrics::Snapshot>();
  snap->series = pghealthd::metrics::render_tables("t", datname, rows);
  store.put(key, pghealthd::collectors::Kind::kStatUserTables, snap);
  return snap;
}

}  // namespace

TEST_CASE("the gzip body of /metrics inflates to exactly the plain body", "[gzip]") {
  using namespace pghealthd;
  metrics::Store store("test");
  auto tables = [](std::int64_t live) {
    std::vector<model::TableStats> rows(200);
    for (std::size_t i = 0; i < rows.size(); ++i) {
      rows[i].schemaname = "public";
      rows[i].relname = "t" + std::to_string(i);
      rows[i].live_tuples = live + static_cast<std::int64_t>(i);
      rows[i].dead_tuples = 3;
    }
    return rows;
  };
  put_tables(store, "a", tables(100));
  put_tables(store, "b", tables(5000));

  const auto plain = store.body(false).joined();
  REQUIRE(plain.find("pghealthd_table_live_tuples{target=\"t\",datname=\"b\",schemaname=\"public\",relname=\"t1\"} 5001") !=
          std::string::npos);
  CHECK(gunzip(store.body(true).joined()) == plain);
  // A second gzip scrape reuses the compressed snapshots and still says the same.
  CHECK(gunzip(store.body(true).joined()) == plain);

  // A new collection replaces a snapshot: the next gzip scrape carries its values, not the cached ones.
  put_tables(store, "a", tables(7));
  const auto plain2 = store.body(false).joined();
  REQUIRE(plain2 != plain);
  CHECK(gunzip(store.body(true).joined()) == plain2);
}

TEST_CASE("a body's pieces stay valid after the store replaces its snapshots", "[gzip]") {
  using namespace pghealthd;
  metrics::Store store("test");
  std::vector<model::TableStats> rows(1);
  rows[0].schemaname = "public";
  rows[0].relname = "kept";
  rows[0].live_tuples = 42;
  put_tables(store, "d", rows);  // the store is the snapshot's only owner
  const metrics::DbKey key{"t", "d"};
  const auto body = store.body(false);  // as a scrape in progress holds it
  const auto before = body.joined();
  store.withdraw(key, collectors::Kind::kStatUserTables);  // the only other owner lets go
  CHECK(body.joined() == before);
  CHECK(before.find("relname=\"kept\"} 42") != std::string::npos);
}

TEST_CASE("a piece inflates on its own to exactly its text", "[gzip]") {
  for (const auto& text : {std::string(), std::string("a"), text_of(200000, 4)}) {
    const auto piece = deflate_piece(text);
    CHECK(pghealthd::base::inflate_piece(piece) == text);
  }
  // Many pieces from one Deflater are as self-contained as pieces of their own.
  pghealthd::base::Deflater deflater;
  const auto a = deflater.piece(text_of(70000, 5));
  const auto b = deflater.piece(text_of(70000, 5));
  CHECK(a.data == b.data);
  CHECK(pghealthd::base::inflate_piece(b) == text_of(70000, 5));
}

TEST_CASE("a corrupt piece, or one that does not inflate to its size, is an error", "[gzip]") {
  auto piece = deflate_piece(text_of(5000, 6));
  auto longer = piece;
  longer.size += 1;
  CHECK_THROWS(pghealthd::base::inflate_piece(longer));
  auto shorter = piece;
  shorter.size -= 1;
  CHECK_THROWS(pghealthd::base::inflate_piece(shorter));
  auto truncated = piece;
  truncated.data.resize(truncated.data.size() / 2);
  CHECK_THROWS(pghealthd::base::inflate_piece(truncated));
  auto garbage = piece;
  garbage.data.assign(garbage.data.size(), '\xff');
  CHECK_THROWS(pghealthd::base::inflate_piece(garbage));
}

TEST_CASE("a body reader writes bytes and inflated pieces in order, in bounded stretches", "[gzip]") {
  using pghealthd::base::BodyReader;
  using pghealthd::base::Pieces;
  const std::vector<std::string> texts{text_of(300000, 7), "", text_of(100, 8), text_of(70000, 9)};
  std::vector<Deflated> pieces;
  for (const auto& t : texts) pieces.push_back(deflate_piece(t));
  Pieces body;
  std::string expected;
  body.add("# HELP x\n");
  expected += "# HELP x\n";
  for (std::size_t i = 0; i < texts.size(); ++i) {
    body.add_inflated(pieces[i]);
    expected += texts[i];
    if (i == 1) {
      body.add("between\n");
      expected += "between\n";
    }
  }
  CHECK(body.size() == expected.size());
  CHECK(body.joined() == expected);
  for (std::size_t buffer : {std::size_t{1}, std::size_t{1000}, std::size_t{65536}, BodyReader::kBuffer}) {
    INFO("buffer " << buffer);
    BodyReader reader(body, buffer);
    std::string out;
    for (;;) {
      const auto& views = reader.next();
      if (views.empty()) break;
      for (auto v : views) out += v;
    }
    CHECK(out == expected);
  }
  // Of deflated pieces alone, no stretch is larger than the buffer.
  Pieces deflated_only;
  for (const auto& p : pieces) deflated_only.add_inflated(p);
  BodyReader reader(deflated_only, 50000);
  std::size_t total = 0;
  for (;;) {
    const auto& views = reader.next();
    if (views.empty()) break;
    std::size_t stretch = 0;
    for (auto v : views) stretch += v.size();
    CHECK(stretch <= 50000);
    total += stretch;
  }
  CHECK(total == deflated_only.size());
}

TEST_CASE("the plain /metrics of a large database is the inflated gzip body, written in small stretches", "[gzip]") {
  using namespace pghealthd;
  metrics::Store store("test");
  std::vector<model::TableStats> rows(3000);
  for (std::size_t i = 0; i < rows.size(); ++i) {
    rows[i].schemaname = "public";
    rows[i].relname = "t" + std::to_string(i);
    rows[i].live_tuples = static_cast<std::int64_t>(i * 7919 % 100003);
    rows[i].dead_tuples = static_cast<std::int64_t>(i % 17);
    rows[i].size_bytes = static_cast<std::int64_t>(8192 * (i + 1));
  }
  const auto snap = put_tables(store, "d", rows);
  REQUIRE(snap->series.lines[static_cast<std::size_t>(metrics::Family::kTableLiveTuples)].pieces().size() > 1);

  const auto plain = store.body(false);
  const auto text = plain.joined();
  CHECK(plain.size() == text.size());
  CHECK(gunzip(store.body(true).joined()) == text);
  // Self metrics first, then the families as write_families writes them.
  std::string families;
  metrics::write_families(families, {&snap->series});
  REQUIRE(text.size() > families.size());
  CHECK(text.substr(text.size() - families.size()) == families);
  // No stretch holds more inflated text than the reader's buffer.
  pghealthd::base::BodyReader reader(plain, 4096);
  std::size_t total = 0;
  for (;;) {
    const auto& views = reader.next();
    if (views.empty()) break;
    for (auto v : views) total += v.size();
  }
  CHECK(total == text.size());
}
