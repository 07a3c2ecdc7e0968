// The web dashboard's files (src/http/web/), compiled into the daemon by
// cmake/embed_web_assets.cmake: served at GET / (index.html) and
// GET /assets/{name}, offline, with nothing to build or fetch. The lookup
// is pure (tests/unit/http_routing_test.cpp).
//
//   const WebAsset* asset = find_web_asset("app.js");  // null: 404
//   respond({200, std::string(asset->content_type), std::string(asset->body)});
#pragma once

#include <span>
#include <string_view>

namespace sup::http {

struct EmbeddedFile {
  std::string_view name;  // "app.js"
  std::string_view body;
};
// Every file of src/http/web/, by name (generated).
std::span<const EmbeddedFile> embedded_web_files();

struct WebAsset {
  std::string_view name;
  std::string_view content_type;  // from the name's extension
  std::string_view body;
};
// The page at GET /.
inline constexpr std::string_view kWebIndex = "index.html";
// The file named `name` (a plain file name: no '/', no leading '.'), or null.
const WebAsset* find_web_asset(std::string_view name);
// "text/html; charset=utf-8", "text/javascript; charset=utf-8", "text/css; charset=utf-8",
// "image/svg+xml", else "application/octet-stream".
std::string_view content_type_of(std::string_view name);

}  // namespace sup::http
