// Posts work onto the relay's I/O thread from other threads (runtime event
// callbacks, the logging thread, request workers), and stops doing so once
// the relay closes it, so a callback racing with the relay's shutdown never
// touches a destroyed io_context.
//
//   auto mailbox = std::make_shared<sup::relay::IoMailbox>(io);
//   handle.subscribe_events([mailbox, weak](const sup::Event& e) {
//     mailbox->post([weak, e] { if (auto s = weak.lock()) s->push_event(e); });
//   });
//   ...
//   mailbox->close();  // before the io_context goes away
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <mutex>
#include <utility>

namespace sup::relay {

class IoMailbox {
 public:
  explicit IoMailbox(boost::asio::io_context& io) : io_(&io) {}

  // Never blocks beyond a short lock; dropped after close().
  template <class Handler>
  void post(Handler&& handler) {
    std::lock_guard lock(mutex_);
    if (io_) boost::asio::post(*io_, std::forward<Handler>(handler));
  }

  void close() {
    std::lock_guard lock(mutex_);
    io_ = nullptr;
  }

 private:
  std::mutex mutex_;
  boost::asio::io_context* io_;
};

}  // namespace sup::relay
