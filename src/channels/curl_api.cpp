#include "curl_api.hpp"

#include <dlfcn.h>

#include <string>

#include "esc/error.hpp"

namespace esc {

namespace {

#ifndef ESC_LINK_CURL
constexpr const char* kLibcurl = "libcurl.so.4";

// dlerror() names the file ("libcurl.so.4: cannot open shared object file: ...").
Error load_error(const char* why) {
  return Error(Exit::temp_fail, std::string("cannot load libcurl: ") + (why ? why : kLibcurl));
}

template <typename Fn>
void bind(void* lib, const char* name, Fn& fn) {
  ::dlerror();
  void* sym = ::dlsym(lib, name);
  if (!sym) {
    const char* why = ::dlerror();
    Error e = load_error(why ? why : (std::string(kLibcurl) + ": no " + name).c_str());
    ::dlclose(lib);
    throw e;
  }
  fn = reinterpret_cast<Fn>(sym);
}
#endif

struct Loaded {
  CurlApi api{};

  Loaded() {
#ifdef ESC_LINK_CURL
    api = {curl_global_init,  curl_global_cleanup, curl_easy_init,     curl_easy_setopt,   curl_easy_perform,
           curl_easy_getinfo, curl_easy_cleanup,   curl_easy_strerror, curl_slist_append, curl_slist_free_all};
#else
    void* lib = ::dlopen(kLibcurl, RTLD_NOW | RTLD_LOCAL);
    if (!lib) throw load_error(::dlerror());
    bind(lib, "curl_global_init", api.global_init);
    bind(lib, "curl_global_cleanup", api.global_cleanup);
    bind(lib, "curl_easy_init", api.easy_init);
    bind(lib, "curl_easy_setopt", api.easy_setopt);
    bind(lib, "curl_easy_perform", api.easy_perform);
    bind(lib, "curl_easy_getinfo", api.easy_getinfo);
    bind(lib, "curl_easy_cleanup", api.easy_cleanup);
    bind(lib, "curl_easy_strerror", api.easy_strerror);
    bind(lib, "curl_slist_append", api.slist_append);
    bind(lib, "curl_slist_free_all", api.slist_free_all);
    // Never closed: libcurl and what it loaded stay until the process ends.
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
