// Serves the web console from a folder (web/dist): content types, strong ETags with 304,
// precompressed .br/.gz siblings, and the single-page-app fallback to index.html for paths
// that are not files. Paths are decoded and confined to the folder; anything that tries to
// leave it ("..", encoded slashes or NULs) is answered 404.
#pragma once

#include <filesystem>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>

#include "http/request.h"

namespace custos::http {

class StaticFiles {
 public:
  explicit StaticFiles(std::filesystem::path root);

  // A response for GET/HEAD of a console path, or nullopt when the request is not for the
  // console (an /api/ path, another method, or no console is installed).
  std::optional<Response> serve(const Request& req);

 private:
  struct File {
    std::string content;
    std::string etag;
    std::filesystem::file_time_type mtime;
    uintmax_t size = 0;
  };
  std::optional<File> load(const std::filesystem::path& p);
  std::shared_ptr<const File> cached(const std::filesystem::path& p);

  std::filesystem::path root_;
  std::mutex mu_;
  std::unordered_map<std::string, std::shared_ptr<const File>> cache_;
};

std::string_view content_type_for(std::string_view extension);

}  // namespace custos::http
