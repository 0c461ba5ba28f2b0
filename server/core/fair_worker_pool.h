// Threads that run queued tasks fairly across clients: each client has its
// own queue, the threads take from the clients in turn, and one client runs
// at most `max_running_per_client` tasks at once. A client that sends a storm
// of compiles therefore holds a bounded share of the threads, and another
// client's cache hits still find a free one. A client with
// `max_queued_per_client` tasks waiting is refused more.
#pragma once

#include <condition_variable>
#include <deque>
#include <functional>
#include <list>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace sejits::server {

class FairWorkerPool {
 public:
  FairWorkerPool(int threads, int max_running_per_client, int max_queued_per_client = 1 << 30)
      : max_running_per_client_(max_running_per_client), max_queued_per_client_(max_queued_per_client) {
    for (int i = 0; i < threads; ++i) threads_.emplace_back([this] { run(); });
  }
  ~FairWorkerPool() {
    {
      std::lock_guard lock(mutex_);
      stopping_ = true;
    }
    wake_.notify_all();
    for (auto &thread : threads_) thread.join();
  }
  FairWorkerPool(const FairWorkerPool &) = delete;
  FairWorkerPool &operator=(const FairWorkerPool &) = delete;

  // False (and the task dropped) when the client already has its maximum waiting.
  [[nodiscard]] bool submit(const std::string &client, std::function<void()> task) {
    {
      std::lock_guard lock(mutex_);
      ClientQueue &queue = queues_[client];
      if (static_cast<int>(queue.tasks.size()) >= max_queued_per_client_) return false;
      if (queue.tasks.empty()) turns_.push_back(client);
      queue.tasks.push_back(std::move(task));
    }
    wake_.notify_one();
    return true;
  }

 private:
  struct ClientQueue {
    std::deque<std::function<void()>> tasks;
    int running = 0;
  };

  // The next task in turn order, from a client below its share; false if
  // none may run now. Called with the lock held.
  bool take(std::string &client, std::function<void()> &task) {
    for (auto turn = turns_.begin(); turn != turns_.end(); ++turn) {
      ClientQueue &queue = queues_[*turn];
      if (queue.running >= max_running_per_client_) continue;
      client = *turn;
      task = std::move(queue.tasks.front());
      queue.tasks.pop_front();
      ++queue.running;
      turns_.erase(turn);
      if (!queue.tasks.empty()) turns_.push_back(client);  // its next task waits for the others' turns
      return true;
    }
    return false;
  }

  void run() {
    std::unique_lock lock(mutex_);
    while (true) {
      std::string client;
      std::function<void()> task;
      wake_.wait(lock, [&] { return take(client, task) || (stopping_ && turns_.empty()); });
      if (!task) return;  // stopping, and nothing left to do
      lock.unlock();
      task();
      lock.lock();
      ClientQueue &queue = queues_[client];
      const bool was_at_share = queue.running-- == max_running_per_client_;
      const bool has_waiting = !queue.tasks.empty();
      if (queue.running == 0 && !has_waiting) queues_.erase(client);
      if (stopping_ && turns_.empty()) {
        wake_.notify_all();  // nothing left: the sleeping threads may exit
      } else if (was_at_share && has_waiting) {
        wake_.notify_one();  // a thread that found this client at its share went back to sleep
      }
    }
  }

  const int max_running_per_client_;
  const int max_queued_per_client_;
  std::mutex mutex_;
  std::condition_variable wake_;
  std::map<std::string, ClientQueue> queues_;
  std::list<std::string> turns_;  // clients with queued tasks, in the order they get their next turn
  bool stopping_ = false;
  std::vector<std::thread> threads_;
};

}  // namespace sejits::server
