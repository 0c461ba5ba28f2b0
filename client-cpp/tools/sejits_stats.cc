// sejits-stats: prints the daemon's counters (a C++ tool over the client library).
#include <iostream>

#include "client-cpp/client.h"

int main(int argc, char **argv) {
  if (argc != 2) {
    std::cerr << "usage: sejits-stats unix:/path/to/sejitsd.sock | tcp://host:port\n";
    return 2;
  }
  auto client = sejits::client::Client::connect(argv[1]);
  if (!client.ok()) {
    std::cerr << client.status() << "\n";
    return 1;
  }
  auto stats = (*client)->stats();
  if (!stats.ok()) {
    std::cerr << "sejitsd at " << argv[1] << ": " << stats.status() << "\n";
    return 1;
  }
  std::cout << stats->DebugString();
  return 0;
}
