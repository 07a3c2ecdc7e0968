// The last words of a crashing daemon (runbook P1-001): a fatal signal
// (SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGABRT), std::terminate or an exception
// nobody caught writes one `Panic` line with the cause, then a best-effort
// backtrace, to stderr (the journal under systemd). The process then dies
// by the original signal, so the exit status and a core dump tell the truth.
//
//   sup::daemon::install_crash_handler(sup::daemon::PanicStyle::Text);
//
// The handler only uses async-signal-safe calls on preformatted static
// buffers. Only the thread that installs it gets an alternate signal stack;
// a stack overflow in another thread dies without a report.
#pragma once

#include "daemon/panic_message.hpp"
#include "sup/error.hpp"

namespace sup::daemon {

// Idempotent; the style can be changed by installing again (e.g. once the
// log output is known).
Status install_crash_handler(PanicStyle style);

}  // namespace sup::daemon
