// Placeholder: the sandbox helper replaces this file.
#include "sandbox.h"
namespace horloge {
void lockdown(Role, const LockdownOptions&) {}
}
