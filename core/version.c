/* Library version. */
#include "config.h"

#include <tower/tower.h>

const char *tower_version(void) {
  return PACKAGE_VERSION;
}
