#pragma once

// A shared library loaded with dlopen when first needed, for the ones that
// would otherwise bring dozens of libraries (TLS, Kerberos, LDAP...) into
// every command: libcurl for network channels, libpq for a team's log.

namespace esc {

class SharedLibrary {
 public:
  // Loads `soname` ("libcurl.so.4"); `what` names it in errors ("libcurl").
  // Throws Error (Exit::temp_fail): "cannot load libcurl: <dlerror>".
  SharedLibrary(const char* soname, const char* what);
  // Never closed: the library and what it loaded stay until the process ends.
  ~SharedLibrary() = default;
  SharedLibrary(const SharedLibrary&) = delete;
  SharedLibrary& operator=(const SharedLibrary&) = delete;

  // Sets `fn` to the library's function `name`; throws as the constructor.
  template <typename Fn>
  void bind(const char* name, Fn& fn) {
    fn = reinterpret_cast<Fn>(symbol(name));
  }

 private:
  void* symbol(const char* name);
  void* handle_;
  const char* soname_;
  const char* what_;
};

}  // namespace esc
