#include "error.h"

namespace horloge {

void failWith(kj::String message) {
  kj::throwFatalException(
      kj::Exception(kj::Exception::Type::FAILED, __FILE__, __LINE__, kj::mv(message)));
}

}  // namespace horloge
