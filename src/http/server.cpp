// Beast/Asio transport. Each connection is a Session on its own strand: read the header under
// a deadline (a client that trickles bytes is dropped when it expires), read the body under a
// second deadline and a size limit, hand the request to the App — on the I/O thread for
// non-blocking routes, on the worker pool for the rest — and write the answer under a third
// deadline. I/O errors are error codes, never exceptions.
#include "http/server.h"

#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <boost/asio.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <chrono>
#include <csignal>
#include <mutex>
#include <optional>
#include <thread>
#include <unordered_set>

#include "http/beast_request.h"
#include "platform/log/log.h"

namespace custos::http {
namespace {

namespace beast = boost::beast;
namespace bhttp = beast::http;
namespace asio = boost::asio;
namespace ssl = asio::ssl;
using tcp = asio::ip::tcp;
using Clock = std::chrono::steady_clock;

// Deadlines are kept as one atomic per connection and enforced by a sweep every 100 ms (see
// Impl::sweep) rather than by a timer per socket operation: three timer re-arms per request
// cost more than the rest of a small request's path.
class SessionBase {
 public:
  virtual ~SessionBase() = default;
  // Called from any thread during shutdown: closes the connection if no request is in flight.
  virtual void close_if_idle() = 0;
  // Called from the sweeper thread when the deadline has passed.
  virtual void expire() = 0;
  int64_t deadline() const { return deadline_.load(std::memory_order_relaxed); }

 protected:
  void set_deadline(std::chrono::milliseconds d) {
    deadline_.store((Clock::now() + d).time_since_epoch().count(), std::memory_order_relaxed);
  }
  void clear_deadline() { deadline_.store(0, std::memory_order_relaxed); }

 private:
  std::atomic<int64_t> deadline_{0};
};

}  // namespace

struct Server::Impl {
  ServerOptions opt;
  App& app;
  // One io_context per I/O thread; a connection lives on one of them for its whole life, so its
  // handlers never contend for a shared scheduler and need no strand.
  std::vector<std::unique_ptr<asio::io_context>> contexts;
  asio::io_context& ioc;  // contexts[0]: acceptor, signals, sweeper, drain
  size_t next_context = 0;
  std::optional<ssl::context> tls_ctx;
  tcp::acceptor acceptor;
  asio::thread_pool workers;
  asio::signal_set signals;
  asio::steady_timer drain_timer;
  asio::steady_timer sweep_timer;
  Clock::time_point drain_deadline{};
  std::atomic<bool> stopping{false};
  std::atomic<int> connections{0};
  std::atomic<int> in_flight{0};
  std::atomic<int> holds{0};  // answers waiting for their hold's callback
  std::mutex sessions_mu;
  std::unordered_set<SessionBase*> sessions;

  Impl(ServerOptions o, App& a)
      : opt(std::move(o)),
        app(a),
        contexts(make_contexts(opt.io_threads)),
        ioc(*contexts[0]),
        acceptor(ioc),
        workers(static_cast<size_t>(opt.worker_threads)),
        signals(ioc, SIGINT, SIGTERM),
        drain_timer(ioc),
        sweep_timer(ioc) {}

  static std::vector<std::unique_ptr<asio::io_context>> make_contexts(int n) {
    std::vector<std::unique_ptr<asio::io_context>> v;
    for (int i = 0; i < std::max(1, n); ++i) v.push_back(std::make_unique<asio::io_context>(1));
    return v;
  }
  void stop_all() {
    for (auto& c : contexts) c->stop();
  }
  void accept();
  void begin_shutdown();
  void drain();
  void sweep();
  void enroll(SessionBase* s) {
    std::lock_guard lock(sessions_mu);
    sessions.insert(s);
  }
  void leave(SessionBase* s) {
    std::lock_guard lock(sessions_mu);
    sessions.erase(s);
  }
};

namespace {

template <class Stream>
class Session final : public SessionBase, public std::enable_shared_from_this<Session<Stream>> {
 public:
  static constexpr bool kTls = !std::is_same_v<Stream, beast::tcp_stream>;

  template <class... Args>
  Session(Server::Impl& server, std::string remote, Args&&... args)
      : server_(server), stream_(std::forward<Args>(args)...), remote_(std::move(remote)) {
    server_.connections.fetch_add(1);
    server_.app.metrics().connection_opened();
  }
  ~Session() override {
    server_.leave(this);
    server_.connections.fetch_sub(1);
    server_.app.metrics().connection_closed();
  }

  void start() {
    server_.enroll(this);
    asio::dispatch(stream_.get_executor(), [self = this->shared_from_this()] {
      if constexpr (kTls) {
        self->set_deadline(self->server_.opt.header_timeout);
        self->stream_.async_handshake(ssl::stream_base::server, [self](beast::error_code ec) {
          if (ec) return self->close_now();
          self->wait_for_request();
        });
      } else {
        self->wait_for_request();
      }
    });
  }

  void close_if_idle() override {
    asio::post(stream_.get_executor(), [weak = this->weak_from_this()] {
      if (auto self = weak.lock())
        if (self->idle()) self->close_now();
    });
  }

 private:
  auto& lowest() { return beast::get_lowest_layer(stream_); }

  // Waits for the next request with one header read. Its deadline starts as the header
  // timeout; when it passes with no byte received the wait is an idle keep-alive connection and
  // is extended towards the idle timeout, a header-timeout at a time (see expire()). A client
  // that has sent part of a header when a deadline passes is dropped.
  void wait_for_request() {
    busy_ = false;
    if (server_.stopping && buffer_.size() == 0) return close_now();
    parser_.emplace();
    parser_->header_limit(server_.opt.header_limit_bytes);
    // The larger limit while the header is read (Beast checks a Content-Length against it
    // then); the route's own limit is applied once the target is known (limit_body()).
    parser_->body_limit(std::max(server_.opt.max_body_bytes, server_.opt.max_upload_bytes));
    waiting_since_ = Clock::now();
    in_header_ = true;
    set_deadline(std::min(server_.opt.header_timeout, server_.opt.idle_timeout));
    bhttp::async_read_header(
        stream_, buffer_, *parser_,
        [self = this->shared_from_this()](beast::error_code ec, size_t) { self->on_header(ec); });
  }

  // No request in flight and nothing of the next one received.
  bool idle() const { return !busy_ && buffer_.size() == 0; }

  void on_header(beast::error_code ec) {
    in_header_ = false;
    if (ec) return on_read_error(ec);
    if (closed_) return;
    busy_ = true;
    received_ = Clock::now();
    if (parser_->is_done()) return on_request();
    if (!limit_body()) return refuse(ErrorCode::payload_too_large);
    if (bhttp::token_list(parser_->get()[bhttp::field::expect]).exists("100-continue")) {
      // RFC 9110 §10.1.1: tell the client to send the body it is holding back.
      auto cont =
          std::make_shared<bhttp::response<bhttp::empty_body>>(bhttp::status::continue_, 11);
      set_deadline(server_.opt.write_timeout);
      return bhttp::async_write(
          stream_, *cont, [self = this->shared_from_this(), cont](beast::error_code ec, size_t) {
            if (ec) return self->close_now();
            self->read_body();
          });
    }
    read_body();
  }

  // Applies the body limit of the request's route; false when its Content-Length is over it.
  bool limit_body() {
    const auto& msg = parser_->get();
    uint64_t limit = server_.opt.max_body_bytes;
    if (server_.opt.max_upload_bytes > limit) {
      const std::string_view target = msg.target();
      const std::string_view path = target.substr(0, target.find('?'));
      if (server_.app.accepts_upload(parse_method(msg.method_string()), path))
        limit = server_.opt.max_upload_bytes;
    }
    if (const auto len = parser_->content_length(); len && *len > limit) return false;
    // Beast counts the limit down as body bytes arrive (chunked bodies included).
    parser_->body_limit(limit);
    return true;
  }

  void read_body() {
    set_deadline(server_.opt.body_timeout);
    bhttp::async_read(stream_, buffer_, *parser_,
                      [self = this->shared_from_this()](beast::error_code ec, size_t) {
                        if (ec) return self->on_read_error(ec);
                        self->on_request();
                      });
  }

  void on_read_error(beast::error_code ec) {
    if (ec == bhttp::error::end_of_stream || ec == asio::error::eof ||
        ec == beast::error::timeout || ec == asio::error::operation_aborted ||
        ec == asio::error::connection_reset)
      return close_now();
    if (ec == bhttp::error::header_limit) return refuse(ErrorCode::header_too_large);
    if (ec == bhttp::error::body_limit) return refuse(ErrorCode::payload_too_large);
    if (ec.category() == bhttp::make_error_code(bhttp::error::bad_target).category())
      return refuse(ErrorCode::bad_request);
    close_now();
  }

  void fill_basics(Request& req) {
    req.remote_ip = remote_;
    req.received = received_;
    if (parser_) detail::copy_head(parser_->get(), req);
  }

  void refuse(ErrorCode code) {
    busy_ = true;
    received_ = Clock::now();
    Request req;
    fill_basics(req);
    head_ = false;
    keep_alive_ = false;
    write(server_.app.refuse(req, code));
  }

  void on_request() {
    if (closed_) return;
    Request req;
    fill_basics(req);
    auto& msg = parser_->get();
    req.body = std::move(msg.body());
    keep_alive_ = msg.keep_alive();
    head_ = req.method == Method::head;
    if (req.target.empty() || req.target[0] != '/') {
      keep_alive_ = false;
      return write(server_.app.refuse(req, ErrorCode::bad_request));
    }
    Exec exec = server_.app.prepare(req);
    if (exec == Exec::inline_io) {
      Response res = server_.app.handle(req);
      if (!res.hold) return write(std::move(res));
      server_.in_flight.fetch_add(1);
      return write_when_released(std::move(req), std::move(res));
    }
    // A handler may take as long as it needs; the socket deadlines resume with the write.
    clear_deadline();
    server_.in_flight.fetch_add(1);
    asio::post(server_.workers, [self = this->shared_from_this(), req = std::move(req)]() mutable {
      Response res = self->server_.app.handle(req);
      if (res.hold) return self->write_when_released(std::move(req), std::move(res));
      asio::post(self->stream_.get_executor(), [self, res = std::move(res)]() mutable {
        self->server_.in_flight.fetch_sub(1);
        self->write(std::move(res));
      });
    });
  }

  // The answer waits for its hold (a read's audit record being committed) without keeping the
  // worker: the hold's callback hands it to the session's strand, or a 500 when it failed.
  void write_when_released(Request req, Response res) {
    auto hold = std::move(res.hold);
    res.hold = nullptr;
    auto held = std::make_shared<std::pair<Request, Response>>(std::move(req), std::move(res));
    server_.holds.fetch_add(1);
    hold([self = this->shared_from_this(), held](bool ok) {
      if (!ok) held->second = self->server_.app.refuse(held->first, ErrorCode::internal_error);
      asio::post(self->stream_.get_executor(), [self, held]() mutable {
        self->server_.in_flight.fetch_sub(1);
        self->write(std::move(held->second));
      });
      self->server_.holds.fetch_sub(1);
    });
  }

  void write(Response res) {
    if (!res.body_file.empty()) return write_file(std::move(res));
    auto out = std::make_shared<bhttp::response<bhttp::string_body>>(
        static_cast<bhttp::status>(res.status), 11);
    const bool keep = head_fields(*out, res);
    const size_t n = res.body.size();
    out->body() = std::move(res.body);
    if (res.status == 304 || res.status == 204) {
      out->body().clear();
    } else if (head_) {
      out->body().clear();
      out->content_length(n);
    } else {
      out->prepare_payload();
    }
    send(out, keep);
  }

  // A body from a file (a streamed export): Beast reads it in chunks as the socket drains, so
  // memory stays constant however big the file. The file is unlinked once open.
  void write_file(Response res) {
    auto out = std::make_shared<bhttp::response<bhttp::file_body>>(
        static_cast<bhttp::status>(res.status), 11);
    beast::error_code ec;
    out->body().open(res.body_file.c_str(), beast::file_mode::scan, ec);
    ::unlink(res.body_file.c_str());
    if (ec) {
      log::app().error("response file could not be opened: {}", ec.message());
      Request req;
      fill_basics(req);
      keep_alive_ = false;
      return write(server_.app.refuse(req, ErrorCode::internal_error));
    }
    const bool keep = head_fields(*out, res);
    if (head_) {
      const auto n = out->body().size();
      out->body().close();
      auto empty = std::make_shared<bhttp::response<bhttp::string_body>>(out->result(), 11);
      head_fields(*empty, res);
      empty->content_length(n);
      return send(empty, keep);
    }
    out->prepare_payload();
    // The write deadline grows with the file: a client reading at 1 MiB/s still finishes.
    send(out, keep, std::chrono::seconds(out->body().size() >> 20));
  }

  // Status line and headers of `res` on `out`; whether the connection stays open.
  template <class Message>
  bool head_fields(Message& out, const Response& res) {
    for (const auto& [n, v] : res.headers.items()) out.insert(n, v);
    if (res.body_size() > 0 || res.status != 304)
      out.set(bhttp::field::content_type, res.content_type);
    const bool keep = keep_alive_ && !res.close && !server_.stopping;
    out.keep_alive(keep);
    return keep;
  }

  template <class Message>
  void send(const std::shared_ptr<Message>& out, bool keep,
            std::chrono::milliseconds extra = std::chrono::milliseconds(0)) {
    set_deadline(server_.opt.write_timeout + extra);
    bhttp::async_write(stream_, *out,
                       [self = this->shared_from_this(), out, keep](beast::error_code ec, size_t) {
                         if (ec || !keep) return self->close_now();
                         self->parser_.reset();
                         self->wait_for_request();
                       });
  }

  void expire() override {
    asio::post(stream_.get_executor(), [weak = this->weak_from_this()] {
      if (auto self = weak.lock()) {
        if (self->in_header_ && self->buffer_.size() == 0 && !self->server_.stopping) {
          const auto now = Clock::now();
          const auto idle_end = self->waiting_since_ + self->server_.opt.idle_timeout;
          if (now < idle_end) {
            self->set_deadline(std::chrono::duration_cast<std::chrono::milliseconds>(std::min(
                idle_end - now,
                std::chrono::duration_cast<Clock::duration>(self->server_.opt.header_timeout))));
            return;
          }
        }
        self->closed_ = true;
        self->clear_deadline();
        beast::error_code ignored;
        self->lowest().socket().close(ignored);
      }
    });
  }

  void close_now() {
    if (closed_) return;
    closed_ = true;
    beast::error_code ec;
    if constexpr (kTls) {
      set_deadline(std::chrono::seconds(2));
      stream_.async_shutdown([self = this->shared_from_this()](beast::error_code) {
        beast::error_code ignored;
        self->lowest().socket().close(ignored);
      });
    } else {
      lowest().socket().shutdown(tcp::socket::shutdown_send, ec);
      lowest().socket().close(ec);
    }
  }

  Server::Impl& server_;
  Stream stream_;
  std::string remote_;
  // No cap of its own: the parser's header and body limits bound what it holds.
  beast::flat_buffer buffer_;
  std::optional<bhttp::request_parser<bhttp::string_body>> parser_;
  Clock::time_point received_{};
  Clock::time_point waiting_since_{};
  bool in_header_ = false;
  bool keep_alive_ = false;
  bool head_ = false;
  bool busy_ = false;
  bool closed_ = false;
};

}  // namespace

void Server::Impl::accept() {
  asio::io_context& target = *contexts[next_context++ % contexts.size()];
  acceptor.async_accept(target.get_executor(), [this](beast::error_code ec, tcp::socket socket) {
    if (ec) {
      if (ec == asio::error::operation_aborted || !acceptor.is_open()) return;
      // Out of descriptors and the like: log, breathe, go on accepting.
      log::app().warn("accept failed: {}", ec.message());
      auto t = std::make_shared<asio::steady_timer>(ioc, std::chrono::milliseconds(50));
      t->async_wait([this, t](beast::error_code) { accept(); });
      return;
    }
    if (connections.load() >= opt.max_connections || stopping) {
      beast::error_code ignored;
      socket.close(ignored);
    } else {
      beast::error_code rec;
      auto ep = socket.remote_endpoint(rec);
      std::string remote = rec ? std::string() : ep.address().to_string();
      socket.set_option(tcp::no_delay(true), rec);
      if (tls_ctx)
        std::make_shared<Session<beast::ssl_stream<beast::tcp_stream>>>(*this, std::move(remote),
                                                                        std::move(socket), *tls_ctx)
            ->start();
      else
        std::make_shared<Session<beast::tcp_stream>>(*this, std::move(remote), std::move(socket))
            ->start();
    }
    accept();
  });
}

void Server::Impl::sweep() {
  const int64_t now = Clock::now().time_since_epoch().count();
  {
    std::lock_guard lock(sessions_mu);
    for (SessionBase* s : sessions) {
      const int64_t d = s->deadline();
      if (d != 0 && d < now) s->expire();
    }
  }
  sweep_timer.expires_after(std::chrono::milliseconds(100));
  sweep_timer.async_wait([this](beast::error_code ec) {
    if (!ec) sweep();
  });
}

void Server::Impl::begin_shutdown() {
  if (stopping.exchange(true)) return;
  log::app().info("shutting down: no new connections, finishing requests in flight");
  beast::error_code ec;
  acceptor.close(ec);
  signals.cancel(ec);
  {
    std::lock_guard lock(sessions_mu);
    for (SessionBase* s : sessions) s->close_if_idle();
  }
  drain_deadline = Clock::now() + opt.shutdown_grace;
  drain();
}

void Server::Impl::drain() {
  if ((connections.load() == 0 && in_flight.load() == 0) || Clock::now() >= drain_deadline) {
    sweep_timer.cancel();
    stop_all();
    return;
  }
  {
    // Sessions that finished a request since the last pass are idle now.
    std::lock_guard lock(sessions_mu);
    for (SessionBase* s : sessions) s->close_if_idle();
  }
  drain_timer.expires_after(std::chrono::milliseconds(20));
  drain_timer.async_wait([this](beast::error_code) { drain(); });
}

Server::Server(ServerOptions options, App& app)
    : impl_(std::make_unique<Impl>(std::move(options), app)) {}

Server::~Server() {
  impl_->workers.join();
}

uint16_t Server::bind() {
  auto& im = *impl_;
  // Many idle keep-alive clients are normal behind a load balancer: use every descriptor the
  // hard limit allows.
  rlimit rl{};
  if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
    rl.rlim_cur = rl.rlim_max;
    setrlimit(RLIMIT_NOFILE, &rl);
  }
  if (im.opt.tls) {
    im.tls_ctx.emplace(ssl::context::tls_server);
    im.tls_ctx->set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 |
                            ssl::context::no_sslv3 | ssl::context::no_tlsv1 |
                            ssl::context::no_tlsv1_1 | ssl::context::single_dh_use);
    im.tls_ctx->use_certificate_chain_file(im.opt.tls_cert_file);
    im.tls_ctx->use_private_key_file(im.opt.tls_key_file, ssl::context::pem);
  }
  auto address = asio::ip::make_address(im.opt.host);
  tcp::endpoint ep(address, im.opt.port);
  im.acceptor.open(ep.protocol());
  im.acceptor.set_option(asio::socket_base::reuse_address(true));
  im.acceptor.bind(ep);
  im.acceptor.listen(asio::socket_base::max_listen_connections);
  return im.acceptor.local_endpoint().port();
}

void Server::run(const std::function<void(uint16_t)>& on_ready) {
  auto& im = *impl_;
  if (!im.acceptor.is_open()) bind();
  im.signals.async_wait([&im](beast::error_code ec, int) {
    if (!ec) im.begin_shutdown();
  });
  im.accept();
  im.sweep();
  if (on_ready) on_ready(im.acceptor.local_endpoint().port());
  std::vector<std::thread> threads;
  std::vector<asio::executor_work_guard<asio::io_context::executor_type>> guards;
  for (auto& c : im.contexts) guards.push_back(asio::make_work_guard(*c));
  for (size_t i = 1; i < im.contexts.size(); ++i)
    threads.emplace_back([c = im.contexts[i].get()] { c->run(); });
  im.ioc.run();
  for (auto& t : threads) t.join();
  // Requests still on the worker pool finish before the caller closes the database, and so do
  // answers waiting for their hold (the io_contexts they post to must outlive the callback).
  im.workers.join();
  for (int i = 0; i < 6000 && im.holds.load() > 0; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
}

void Server::stop() {
  asio::post(impl_->ioc, [im = impl_.get()] { im->begin_shutdown(); });
}

}  // namespace custos::http
