#pragma once

// libcurl, loaded when a network channel first delivers rather than when esc
// starts: linked, it brings some thirty shared libraries (TLS, Kerberos, LDAP,
// SSH, ...) into every command. <curl/curl.h> is used for its types and
// constants only; every call goes through the table below.

#include <curl/curl.h>

#include <memory>
#include <string>

namespace esc {

struct CurlApi {
  CURLcode (*global_init)(long flags);
  void (*global_cleanup)();
  CURL* (*easy_init)();
  CURLcode (*easy_setopt)(CURL* handle, CURLoption option, ...);
  CURLcode (*easy_perform)(CURL* handle);
  CURLcode (*easy_getinfo)(CURL* handle, CURLINFO info, ...);
  void (*easy_cleanup)(CURL* handle);
  const char* (*easy_strerror)(CURLcode code);
  curl_slist* (*slist_append)(curl_slist* list, const char* string);
  void (*slist_free_all)(curl_slist* list);
};

// The table, filled on first use (dlopen of libcurl.so.4, then
// curl_global_init once; curl_global_cleanup at exit). Thread-safe. Throws
// Error (Exit::temp_fail) with a one-line message when libcurl cannot be
// loaded, and tries again on the next call.
const CurlApi& curl();

using CurlHandle = std::unique_ptr<CURL, void (*)(CURL*)>;

// What a delivery starts with: the table and a new easy handle in `handle`.
// On failure, nullptr and a one-line reason in `error` ("cannot load
// libcurl: ...", "cannot start an SMTP client"): the delivery fails and is
// retried later.
const CurlApi* start_curl(CurlHandle& handle, std::string& error, const char* client);

}  // namespace esc
