#include "esc/shared_library.hpp"

#include <dlfcn.h>

#include <string>

#include "esc/error.hpp"

namespace esc {

namespace {

Error load_error(const char* what, const std::string& why) {
  return Error(Exit::temp_fail, std::string("cannot load ") + what + ": " + why);
}

}  // namespace

SharedLibrary::SharedLibrary(const char* soname, const char* what)
    : handle_(::dlopen(soname, RTLD_NOW | RTLD_LOCAL)), soname_(soname), what_(what) {
  // dlerror() names the file ("libcurl.so.4: cannot open shared object file: ...").
  if (!handle_) {
    const char* why = ::dlerror();
    throw load_error(what_, why ? why : soname_);
  }
}

void* SharedLibrary::symbol(const char* name) {
  ::dlerror();
  void* sym = ::dlsym(handle_, name);
  if (!sym) {
    const char* why = ::dlerror();
    throw load_error(what_, why ? why : std::string(soname_) + ": no " + name);
  }
  return sym;
}

}  // namespace esc
