#include "curl_api.hpp"

#include <string>

#include "esc/error.hpp"
#include "esc/shared_library.hpp"

namespace esc {

namespace {

struct Loaded {
  CurlApi api{};

  Loaded() {
#ifdef ESC_LINK_CURL
    api = {curl_global_init,  curl_global_cleanup, curl_easy_init,     curl_easy_setopt,  curl_easy_perform,
           curl_easy_getinfo, curl_easy_cleanup,   curl_easy_strerror, curl_slist_append, curl_slist_free_all};
#else
    static SharedLibrary lib("libcurl.so.4", "libcurl");
    lib.bind("curl_global_init", api.global_init);
    lib.bind("curl_global_cleanup", api.global_cleanup);
    lib.bind("curl_easy_init", api.easy_init);
    lib.bind("curl_easy_setopt", api.easy_setopt);
    lib.bind("curl_easy_perform", api.easy_perform);
    lib.bind("curl_easy_getinfo", api.easy_getinfo);
    lib.bind("curl_easy_cleanup", api.easy_cleanup);
    lib.bind("curl_easy_strerror", api.easy_strerror);
    lib.bind("curl_slist_append", api.slist_append);
    lib.bind("curl_slist_free_all", api.slist_free_all);
#endif
    api.global_init(CURL_GLOBAL_DEFAULT);
  }
  ~Loaded() { api.global_cleanup(); }
  Loaded(const Loaded&) = delete;
  Loaded& operator=(const Loaded&) = delete;
};

}  // namespace

const CurlApi& curl() {
  // A constructor that throws leaves the static uninitialised: the next call tries again.
  static const Loaded loaded;
  return loaded.api;
}

const CurlApi* start_curl(CurlHandle& handle, std::string& error, const char* client) {
  const CurlApi* api = nullptr;
  try {
    api = &curl();
  } catch (const Error& e) {
    error = e.what();
    return nullptr;
  }
  handle = CurlHandle(api->easy_init(), api->easy_cleanup);
  if (!handle) {
    error = std::string("cannot start an ") + client + " client";
    return nullptr;
  }
  return api;
}

}  // namespace esc
