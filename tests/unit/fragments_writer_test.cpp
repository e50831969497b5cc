// Rendering into compressed pieces (metrics::FragmentsWriter): the text is exactly what the renderer wrote
// before it compressed anything, every piece is whole lines of about a chunk, and the series budget still
// keeps exactly the most significant rows.
#include <catch2/catch.hpp>
#include <zlib.h>

#include <algorithm>
#include <string>
#include <vector>

#include "metrics/catalog.h"
#include "metrics/exposition.h"
#include "synthetic_exposition.h"

namespace {

using pghealthd::metrics::Family;
using pghealthd::metrics::Fragments;
using pghealthd::metrics::FragmentsWriter;

std::uint32_t crc_of(const std::string& s) {
  return static_cast<std::uint32_t>(crc32_z(0L, reinterpret_cast<const Bytef*>(s.data()), s.size()));
}

std::size_t count(const std::string& text, const std::string& what) {
  std::size_t n = 0;
  for (auto at = text.find(what); at != std::string::npos; at = text.find(what, at + what.size())) ++n;
  return n;
}

}  // namespace

// The length and CRC-32 of the text that the renderer of commit 12bec04 (which kept every family as one
// plain string) wrote for the same rows: the compressed pieces must inflate to exactly that text.
TEST_CASE("the compressed exposition inflates to exactly the text of the plain renderer", "[exposition][chunks]") {
  const auto text = synthetic::text(synthetic::render_all(3000));
  CHECK(text.size() == 16049735u);
  CHECK(crc_of(text) == 0x371030d5u);
}

TEST_CASE("a family of many chunks is kept in pieces of whole lines, about a chunk each", "[exposition][chunks]") {
  const auto all = synthetic::render_all(3000);
  const Fragments& tables = all.front();
  const auto& live = tables.lines[static_cast<std::size_t>(Family::kTableLiveTuples)];
  REQUIRE(live.pieces().size() >= 3);
  std::string joined;
  for (std::size_t i = 0; i < live.pieces().size(); ++i) {
    const auto piece = pghealthd::base::inflate_piece(live.pieces()[i]);
    INFO("piece " << i);
    REQUIRE(!piece.empty());
    CHECK(piece.back() == '\n');  // a piece never splits a sample line
    CHECK(piece.size() < FragmentsWriter::kChunkBytes + 1024);  // a chunk and at most one row's sample
    if (i + 1 < live.pieces().size()) CHECK(piece.size() >= FragmentsWriter::kChunkBytes);
    joined += piece;
  }
  CHECK(joined == tables.text(Family::kTableLiveTuples));
  CHECK(count(joined, "\n") == 3000);
  // A family without samples has no piece at all, and so no header in a scrape.
  const auto& analyze = tables.lines[static_cast<std::size_t>(Family::kTableAnalyzeSeconds)];
  CHECK(analyze.pieces().empty());
  CHECK(analyze.size() == 0);
  // What a snapshot holds is a small part of its text.
  CHECK(tables.compressed_bytes() * 5 < tables.bytes());
}

TEST_CASE("FragmentsWriter keeps rows whole, takes back a dropped row and compresses full buffers", "[exposition][chunks]") {
  FragmentsWriter w({}, 16);  // a tiny chunk: a piece every few rows
  std::string expected_a, expected_b;
  for (int row = 0; row < 40; ++row) {
    const std::string a = "a" + std::to_string(row) + " 1\n";
    const std::string b = "b" + std::to_string(row) + " 2\n";
    w.sample(Family::kTableLiveTuples) += a;
    w.sample(Family::kTableDeadTuples) += b;
    if (row % 5 == 4) {
      w.drop_row();  // as if it went over the budget
      continue;
    }
    w.end_row();
    expected_a += a;
    expected_b += b;
  }
  w.sample(Family::kAutovacuumEnabled, true) += "x 1\n";
  w.set_dropped(16);
  const Fragments f = std::move(w).finish();
  CHECK(f.text(Family::kTableLiveTuples) == expected_a);
  CHECK(f.text(Family::kTableDeadTuples) == expected_b);
  CHECK(f.text(Family::kAutovacuumEnabled) == "x 1\n");
  CHECK(f.series == 2 * 32 + 1);
  CHECK(f.per_database == 1);
  CHECK(f.dropped == 16);
  CHECK(f.lines[static_cast<std::size_t>(Family::kTableLiveTuples)].pieces().size() > 5);
  CHECK(f.bytes() == expected_a.size() + expected_b.size() + 4);
  for (const auto& piece : f.lines[static_cast<std::size_t>(Family::kTableLiveTuples)].pieces())
    CHECK(pghealthd::base::inflate_piece(piece).back() == '\n');
}

TEST_CASE("FragmentsWriter of nothing is empty", "[exposition][chunks]") {
  const Fragments f = FragmentsWriter().finish();
  CHECK(f.series == 0);
  CHECK(f.bytes() == 0);
  for (const auto& l : f.lines) CHECK(l.pieces().empty());
}

TEST_CASE("over the series budget, a render of many chunks keeps exactly the largest tables", "[exposition][chunks]") {
  pghealthd::metrics::SeriesFilter filter;
  filter.budget = 20000;
  const auto cut = synthetic::render_all(3000, filter);
  const Fragments& tables = cut.front();
  REQUIRE(tables.dropped > 0);
  REQUIRE(tables.series < 20000);
  // Same text as the plain renderer cut (see the first test).
  const auto text = synthetic::text(cut);
  CHECK(text.size() == 10206992u);
  CHECK(crc_of(text) == 0x497f0591u);
  CHECK(tables.series == 19991);
  CHECK(tables.dropped == 31860);

  // The kept tables are the largest: every kept size is at least every left-out size.
  const auto all = synthetic::render_all(3000);
  const auto sizes = all.front().text(Family::kTableSizeBytes);
  const auto kept = tables.text(Family::kTableSizeBytes);
  std::vector<std::string> kept_lines, all_lines;
  auto split = [](const std::string& s, std::vector<std::string>& out) {
    for (std::size_t at = 0; at < s.size();) {
      const auto end = s.find('\n', at);
      out.push_back(s.substr(at, end - at));
      at = end + 1;
    }
  };
  split(kept, kept_lines);
  split(sizes, all_lines);
  REQUIRE(!kept_lines.empty());
  REQUIRE(kept_lines.size() < all_lines.size());
  auto value = [](const std::string& line) { return std::stoll(line.substr(line.rfind(' ') + 1)); };
  long long min_kept = value(kept_lines.front());
  for (const auto& l : kept_lines) min_kept = std::min(min_kept, value(l));
  std::size_t larger = 0;
  for (const auto& l : all_lines) larger += value(l) > min_kept ? 1 : 0;
  CHECK(larger < kept_lines.size());  // nothing larger than the smallest kept table was left out
  for (const auto& l : kept_lines) CHECK(std::find(all_lines.begin(), all_lines.end(), l) != all_lines.end());
  // Whole rows only: as many sample lines as series, across all families.
  std::size_t newlines = 0;
  for (const auto& l : tables.lines) newlines += count(l.inflated(), "\n");
  CHECK(newlines == tables.series);
}
