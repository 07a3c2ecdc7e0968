#include "http/web_assets.hpp"

#include <vector>

namespace sup::http {

std::string_view content_type_of(std::string_view name) {
  auto ends_with = [name](std::string_view suffix) { return name.ends_with(suffix); };
  if (ends_with(".html")) return "text/html; charset=utf-8";
  if (ends_with(".js")) return "text/javascript; charset=utf-8";
  if (ends_with(".css")) return "text/css; charset=utf-8";
  if (ends_with(".svg")) return "image/svg+xml";
  return "application/octet-stream";
}

const WebAsset* find_web_asset(std::string_view name) {
  static const std::vector<WebAsset> assets = [] {
    std::vector<WebAsset> out;
    for (const EmbeddedFile& file : embedded_web_files())
      out.push_back({file.name, content_type_of(file.name), file.body});
    return out;
  }();
  if (name.empty() || name.front() == '.' || name.find('/') != std::string_view::npos)
    return nullptr;
  for (const WebAsset& asset : assets)
    if (asset.name == name) return &asset;
  return nullptr;
}

}  // namespace sup::http
