#include "base/body.h"

namespace pghealthd::base {

std::uint64_t Pieces::size() const {
  std::uint64_t n = 0;
  for (const auto& p : parts) n += p.size;
  return n;
}

std::string Pieces::joined() const {
  std::string out;
  out.reserve(size());
  BodyReader reader(*this);
  for (;;) {
    const auto& views = reader.next();
    if (views.empty()) return out;
    for (auto v : views) out += v;
  }
}

BodyReader::BodyReader(const Pieces& body, std::size_t buffer) : body_(body), capacity_(buffer) {}

const std::vector<std::string_view>& BodyReader::next() {
  out_.clear();
  std::size_t used = 0;   // of the buffer, this stretch
  std::size_t plain = 0;  // bytes parts in this stretch
  while (part_ < body_.parts.size() && used + plain < capacity_) {
    const auto& p = body_.parts[part_];
    if (!p.deflated) {
      if (!p.data.empty()) out_.push_back(p.data);
      plain += p.data.size();
      ++part_;
      continue;
    }
    if (!inflating_) {
      inflater_.start(p.data, p.size);
      inflating_ = true;
    }
    if (!buffer_) buffer_.reset(new char[capacity_]);
    char* at = buffer_.get() + used;
    const std::size_t n = inflater_.read(at, capacity_ - used);
    if (n > 0) {
      // Consecutive inflated text is one view: fewer, larger buffers for the write.
      if (!out_.empty() && out_.back().data() + out_.back().size() == at)
        out_.back() = std::string_view(out_.back().data(), out_.back().size() + n);
      else
        out_.emplace_back(at, n);
      used += n;
    }
    if (!inflater_.done()) break;  // the buffer is full: the rest of this part comes next time
    inflating_ = false;
    ++part_;
  }
  return out_;
}

}  // namespace pghealthd::base
