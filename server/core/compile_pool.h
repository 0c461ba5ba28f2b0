// A bounded pool for compiles: at most `jobs` compilers run at once, the
// rest wait in arrival order. Callers block until their job has run.
#pragma once

#include <condition_variable>
#include <functional>
#include <mutex>

namespace sejits::server {

class CompilePool {
 public:
  explicit CompilePool(int jobs) : free_slots_(jobs > 0 ? jobs : 1) {}

  template <typename F>
  auto run(F &&work) -> decltype(work()) {
    acquire();
    struct Release {
      CompilePool *pool;
      ~Release() { pool->release(); }
    } release{this};
    return work();
  }

  int waiting() {
    std::lock_guard lock(mutex_);
    return waiting_;
  }

 private:
  void acquire() {
    std::unique_lock lock(mutex_);
    uint64_t ticket = next_ticket_++;
    ++waiting_;
    slot_freed_.wait(lock, [&] { return free_slots_ > 0 && ticket == serving_; });
    --waiting_;
    --free_slots_;
    ++serving_;
    slot_freed_.notify_all();
  }
  void release() {
    std::lock_guard lock(mutex_);
    ++free_slots_;
    slot_freed_.notify_all();
  }

  std::mutex mutex_;
  std::condition_variable slot_freed_;
  int free_slots_;
  int waiting_ = 0;
  uint64_t next_ticket_ = 0, serving_ = 0;
};

}  // namespace sejits::server
