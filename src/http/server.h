// The HTTP/1.1 server: Beast on Asio, plain TCP or TLS. Only this file's .cpp includes Beast.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "http/app.h"

namespace custos::http {

struct ServerOptions {
  std::string host = "127.0.0.1";
  uint16_t port = 8080;  // 0: any free port
  int io_threads = 1;
  int worker_threads = 8;
  uint64_t max_body_bytes = 1 << 20;
  uint64_t max_upload_bytes = 32 << 20;  // routes marked RouteDoc::upload
  uint32_t header_limit_bytes = 16 * 1024;
  std::chrono::milliseconds header_timeout{10'000};
  std::chrono::milliseconds body_timeout{30'000};
  std::chrono::milliseconds write_timeout{30'000};
  std::chrono::milliseconds idle_timeout{60'000};
  int max_connections = 10'000;
  std::chrono::milliseconds shutdown_grace{10'000};
  bool tls = false;
  std::string tls_cert_file;
  std::string tls_key_file;
};

class Server {
 public:
  Server(ServerOptions options, App& app);
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // Binds the listening socket (throws on failure) and returns the bound port.
  uint16_t bind();
  // Serves until SIGTERM/SIGINT or stop(); then stops accepting, lets in-flight requests
  // finish (up to shutdown_grace) and returns.
  void run(const std::function<void(uint16_t)>& on_ready = {});
  // Thread-safe.
  void stop();

  struct Impl;  // opaque; public so the connection sessions in server.cpp can reach it

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace custos::http
