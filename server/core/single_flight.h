// Concurrent calls with the same key share one execution: the first caller
// runs the work, the others wait for its result.
#pragma once

#include <condition_variable>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>

namespace sejits::server {

enum class FlightRole { kLeader, kJoined };

template <typename Result>
class SingleFlight {
 public:
  // Runs `work` unless a call with `key` is already running, in which case it
  // waits for that call's result. `role` says which happened.
  Result run(const std::string &key, const std::function<Result()> &work, FlightRole &role) {
    std::shared_ptr<Flight> flight;
    {
      std::unique_lock lock(mutex_);
      auto it = flights_.find(key);
      if (it != flights_.end()) {
        flight = it->second;
        role = FlightRole::kJoined;
        flight->done_signal.wait(lock, [&] { return flight->done; });
        return *flight->result;
      }
      flight = std::make_shared<Flight>();
      flights_[key] = flight;
    }
    role = FlightRole::kLeader;
    // Joined callers are released even if `work` throws (they see a
    // default-constructed Result then).
    struct Landing {
      SingleFlight *self;
      const std::string &key;
      std::shared_ptr<Flight> flight;
      std::unique_ptr<Result> result = std::make_unique<Result>();
      ~Landing() {
        {
          std::lock_guard lock(self->mutex_);
          flight->result = std::move(result);
          flight->done = true;
          self->flights_.erase(key);
        }
        flight->done_signal.notify_all();
      }
    } landing{this, key, flight};
    *landing.result = work();
    return *landing.result;
  }

 private:
  struct Flight {
    bool done = false;
    std::unique_ptr<Result> result;
    std::condition_variable done_signal;
  };
  std::mutex mutex_;
  std::map<std::string, std::shared_ptr<Flight>> flights_;
};

}  // namespace sejits::server
