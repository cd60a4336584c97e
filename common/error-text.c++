#include "error-text.h"
#include <cctype>
#include <cstring>
#include <string>
#include <vector>

namespace horloge {

namespace {

bool codeName(const std::string& s) {
  // An expression as kj prints a parameter's name: identifiers, member access, calls, indexing.
  if (s.empty() || !(isalpha(static_cast<unsigned char>(s[0])) || s[0] == '_' || s[0] == '*')) {
    return false;
  }
  for (char c: s) {
    if (!(isalnum(static_cast<unsigned char>(c)) || strchr("_.->()[]*&:", c) != nullptr)) return false;
  }
  return true;
}

}  // namespace

kj::String errorText(kj::StringPtr description) {
  std::string d = description.cStr();
  // "remote exception: ..." and the like: kept, the rest cleaned.
  std::string prefix;
  for (const char* p: {"remote exception: ", "(remote) "}) {
    while (d.rfind(p, 0) == 0) {
      prefix += p;
      d = d.substr(strlen(p));
    }
  }
  std::vector<std::string> parts;
  for (size_t start = 0;;) {
    size_t end = d.find("; ", start);
    parts.push_back(d.substr(start, end == std::string::npos ? std::string::npos : end - start));
    if (end == std::string::npos) break;
    start = end + 2;
  }
  std::string words, values;
  for (size_t i = 0; i < parts.size(); ++i) {
    std::string p = parts[i];
    if (i == 0 && p.rfind("expected ", 0) == 0) continue;   // the failed condition's source
    auto eq = p.find(" = ");
    if (eq != std::string::npos && codeName(p.substr(0, eq))) {
      values += (values.empty() ? "" : ", ") + p.substr(eq + 3);
      continue;
    }
    // "call(arguments): error" from KJ_SYSCALL: the call's name and the error.
    auto open = p.find('(');
    auto close = p.find("): ");
    if (open != std::string::npos && close != std::string::npos && open < close &&
        codeName(p.substr(0, open))) {
      p = p.substr(0, open) + ": " + p.substr(close + 3);
    }
    words += (words.empty() ? "" : "; ") + p;
  }
  if (words.empty()) words = "failed";
  if (!values.empty()) words += " (" + values + ")";
  return kj::str(prefix.c_str(), words.c_str());
}

kj::String errorText(const kj::Exception& e) { return errorText(e.getDescription()); }

}  // namespace horloge
