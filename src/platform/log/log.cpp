#include "platform/log/log.h"

#include <cstdint>
#include <cstring>

#include <fcntl.h>
#include <unistd.h>

#include <spdlog/pattern_formatter.h>
#include <spdlog/sinks/base_sink.h>
#include <spdlog/sinks/stdout_sinks.h>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <thread>
#include <vector>

namespace custos::log {
namespace {

// Collects whole lines and writes them with one write(2) per batch. Request threads append to
// buffers of their own (an uncontended lock each), which the writer thread collects every
// 100 ms; the shared buffer takes the rare application events.
class LineWriter {
 public:
  struct ThreadBuffer {
    std::mutex mu;
    std::string buf;
  };
  explicit LineWriter(int fd, bool owns) : fd_(fd), owns_(owns), thread_([this] { loop(); }) {}
  ~LineWriter() {
    {
      std::lock_guard lock(mu_);
      stop_ = true;
    }
    cv_.notify_one();
    thread_.join();
    std::string rest;
    collect(rest);
    write_out(rest);
    if (owns_) ::close(fd_);
  }
  void append(std::string_view line, bool urgent) {
    bool wake = urgent;
    {
      std::lock_guard lock(mu_);
      buf_.append(line);
      wake = wake || buf_.size() > (256u << 10);
      if (urgent) urgent_ = true;
    }
    if (wake) cv_.notify_one();
  }
  void flush() {
    std::string out;
    collect(out);
    write_out(out);
  }

  // The calling thread's own buffer, registered on first use.
  ThreadBuffer& thread_buffer() {
    thread_local std::shared_ptr<ThreadBuffer> mine;
    thread_local const LineWriter* owner = nullptr;
    if (!mine || owner != this) {
      mine = std::make_shared<ThreadBuffer>();
      owner = this;
      std::lock_guard lock(mu_);
      threads_.push_back(mine);
    }
    return *mine;
  }

 private:
  // Moves everything buffered into out: the shared buffer, then each thread's.
  void collect(std::string& out) {
    std::vector<std::shared_ptr<ThreadBuffer>> threads;
    {
      std::lock_guard lock(mu_);
      out.append(buf_);
      buf_.clear();
      threads = threads_;
    }
    for (auto& t : threads) {
      std::lock_guard lock(t->mu);
      out.append(t->buf);
      t->buf.clear();
    }
  }

  void loop() {
    std::string out;
    std::unique_lock lock(mu_);
    while (!stop_) {
      cv_.wait_for(lock, std::chrono::milliseconds(100), [&] { return stop_ || urgent_; });
      urgent_ = false;
      lock.unlock();
      collect(out);
      write_out(out);
      out.clear();
      lock.lock();
    }
  }
  void write_out(const std::string& s) {
    std::lock_guard lock(write_mu_);
    size_t done = 0;
    while (done < s.size()) {
      ssize_t n = ::write(fd_, s.data() + done, s.size() - done);
      if (n <= 0) {
        if (n < 0 && errno == EINTR) continue;
        return;  // nowhere to report a failing log; drop rather than spin
      }
      done += static_cast<size_t>(n);
    }
  }

  int fd_;
  bool owns_;
  std::mutex mu_;
  std::mutex write_mu_;
  std::condition_variable cv_;
  std::string buf_;
  std::vector<std::shared_ptr<ThreadBuffer>> threads_;
  bool stop_ = false;
  bool urgent_ = false;
  std::thread thread_;
};

std::unique_ptr<LineWriter> g_writer;
std::shared_ptr<spdlog::logger> g_app;
bool g_access = false;
bool g_json = true;

class WriterSink final : public spdlog::sinks::base_sink<std::mutex> {
 protected:
  void sink_it_(const spdlog::details::log_msg& msg) override {
    spdlog::memory_buf_t out;
    formatter_->format(msg, out);
    if (g_writer)
      g_writer->append(std::string_view(out.data(), out.size()), msg.level >= spdlog::level::warn);
  }
  void flush_() override {
    if (g_writer) g_writer->flush();
  }
};

// %J: "msg":"<escaped text>".
class JsonMessageFlag final : public spdlog::custom_flag_formatter {
 public:
  void format(const spdlog::details::log_msg& msg, const std::tm&,
              spdlog::memory_buf_t& dest) override {
    std::string s = "\"msg\":\"";
    json_escape(s, std::string_view(msg.payload.data(), msg.payload.size()));
    s += '"';
    dest.append(s.data(), s.data() + s.size());
  }
  std::unique_ptr<custom_flag_formatter> clone() const override {
    return std::make_unique<JsonMessageFlag>();
  }
};

std::shared_ptr<spdlog::logger> fallback() {
  static auto logger = [] {
    auto l =
        std::make_shared<spdlog::logger>("app", std::make_shared<spdlog::sinks::stderr_sink_mt>());
    l->set_level(spdlog::level::warn);
    return l;
  }();
  return logger;
}

// Whether any of the eight bytes at p is below 0x20, '"', '\\' or 0x7f. A byte of zero in
// x ^ broadcast(b) marks b; (v - 0x01..) & ~v & 0x80.. is non-zero exactly when v has a zero
// byte, and (w - 0x20..) & ~w & 0x80.. when w has a byte below 0x20.
bool needs_escape(const char* p) {
  constexpr uint64_t ones = 0x0101010101010101ULL, highs = 0x8080808080808080ULL;
  uint64_t w;
  std::memcpy(&w, p, 8);
  auto zero_byte = [&](uint64_t v) { return (v - ones) & ~v & highs; };
  return (((w - 0x20 * ones) & ~w & highs) | zero_byte(w ^ ('"' * ones)) |
          zero_byte(w ^ ('\\' * ones)) | zero_byte(w ^ (0x7f * ones))) != 0;
}

}  // namespace

void json_escape(std::string& out, std::string_view s) {
  static constexpr char kHex[] = "0123456789abcdef";
  // Runs of characters that need no escape are appended at once; eight bytes at a time are
  // checked for one that does (a control character, '"', '\\' or DEL) without a branch per byte.
  size_t run = 0;
  for (size_t i = 0; i < s.size(); ++i) {
    while (i + 8 <= s.size() && !needs_escape(s.data() + i)) i += 8;
    if (i == s.size()) break;
    const auto c = static_cast<unsigned char>(s[i]);
    if (c >= 0x20 && c != '"' && c != '\\' && c != 0x7f) continue;
    out.append(s.data() + run, i - run);
    run = i + 1;
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      default:
        out += "\\u00";
        out += kHex[c >> 4];
        out += kHex[c & 15];
    }
  }
  out.append(s.data() + run, s.size() - run);
}

void append_utc_now(std::string& out) {
  using namespace std::chrono;
  const auto now = system_clock::now();
  const int64_t ms = duration_cast<milliseconds>(now.time_since_epoch()).count();
  // The date and time to the second change once a second: format them once per thread.
  thread_local int64_t cached_second = -1;
  thread_local char cached[48];
  const int64_t second = ms / 1000;
  if (second != cached_second) {
    const sys_seconds tp{seconds{second}};
    const auto day = floor<days>(tp);
    const year_month_day ymd{day};
    const hh_mm_ss hms{tp - day};
    std::snprintf(cached, sizeof cached, "%04d-%02u-%02uT%02d:%02d:%02d",
                  static_cast<int>(ymd.year()), static_cast<unsigned>(ymd.month()),
                  static_cast<unsigned>(ymd.day()), static_cast<int>(hms.hours().count()),
                  static_cast<int>(hms.minutes().count()), static_cast<int>(hms.seconds().count()));
    cached_second = second;
  }
  char frac[16];
  std::snprintf(frac, sizeof frac, ".%03dZ", static_cast<int>(ms % 1000));
  out.append(cached, 19);
  out.append(frac, 5);
}

void init(const Config::Log& config) {
  int fd = STDOUT_FILENO;
  bool owns = false;
  if (!config.file.empty()) {
    fd = ::open(config.file.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640);
    if (fd < 0) throw ConfigError("config: log.file: cannot open " + config.file);
    owns = true;
  }
  g_app.reset();
  g_writer = std::make_unique<LineWriter>(fd, owns);
  g_json = config.format == "json";
  g_access = config.access_log;

  auto sink = std::make_shared<WriterSink>();
  auto f = std::make_unique<spdlog::pattern_formatter>(spdlog::pattern_time_type::utc);
  f->add_flag<JsonMessageFlag>('J').set_pattern(
      g_json ? R"({"ts":"%Y-%m-%dT%H:%M:%S.%eZ","level":"%l","logger":"app",%J})"
             : "%Y-%m-%dT%H:%M:%S.%eZ %l app %v");
  sink->set_formatter(std::move(f));
  g_app = std::make_shared<spdlog::logger>("app", sink);
  g_app->set_level(spdlog::level::from_str(config.level));
}

void shutdown() {
  g_app.reset();
  g_writer.reset();  // joins the writer after a last write
}

spdlog::logger& app() {
  return g_app ? *g_app : *fallback();
}

bool access_enabled() {
  return g_access && g_writer;
}

void access(std::string_view fields) {
  if (!access_enabled()) return;
  std::string line;
  line.reserve(fields.size() + 80);
  if (g_json) {
    line += R"({"ts":")";
    append_utc_now(line);
    line += R"(","level":"info","logger":"access",)";
    line += fields;
    line += "}\n";
  } else {
    append_utc_now(line);
    line += " info access {";
    line += fields;
    line += "}\n";
  }
  LineWriter::ThreadBuffer& mine = g_writer->thread_buffer();
  std::lock_guard lock(mine.mu);
  mine.buf.append(line);
}

}  // namespace custos::log
