#include "drivers/io/thread_priority.hpp"

#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>

namespace insitu::io {

void lower_this_thread_priority(int increment) {
  const auto tid = static_cast<id_t>(::syscall(SYS_gettid));
  errno = 0;
  const int current = ::getpriority(PRIO_PROCESS, tid);
  if (current == -1 && errno != 0) return;
  ::setpriority(PRIO_PROCESS, tid, current + increment);
}

}  // namespace insitu::io
