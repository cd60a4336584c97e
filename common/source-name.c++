#include "source-name.h"

namespace horloge::ipc {

kj::String sourceName(SystemStatus::Reader status, SourceStatus::Reader s) {
  if (s.getName().size() > 0) return kj::str(s.getName());
  for (auto rc: status.getRefclockd().getBody()) {
    if (rc.getSourceId() == s.getSourceId() && rc.getName().size() > 0) {
      return kj::str(rc.getName());
    }
  }
  return kj::str(s.getKind(), s.getSourceId());
}

}  // namespace horloge::ipc
