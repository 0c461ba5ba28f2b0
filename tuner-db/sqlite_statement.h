// Thin RAII wrappers over the SQLite C API that turn every result code into an
// absl::Status naming the database file (internal to tuner-db).
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

struct sqlite3;
struct sqlite3_stmt;

namespace sejits::tuner::internal {

// One connection and the file it is for, as the helpers need both.
struct Connection {
  sqlite3 *db;
  const std::filesystem::path &path;
};

// Locked -> UNAVAILABLE, not a database or corrupt -> DATA_LOSS, anything
// else -> INTERNAL; `what` says which operation failed.
absl::Status sqlite_status(const Connection &connection, int code, absl::string_view what);

// Runs SQL without results (several statements are allowed).
absl::Status exec(const Connection &connection, const char *sql);

// The first column of the first row of `sql`, as text ("" when no row).
absl::StatusOr<std::string> query_text(const Connection &connection, const char *sql);

class Statement {
 public:
  static absl::StatusOr<Statement> prepare(const Connection &connection, absl::string_view sql);
  Statement(Statement &&other) noexcept;
  Statement &operator=(Statement &&) = delete;
  Statement(const Statement &) = delete;
  ~Statement();

  // Parameters are numbered from 1; a failed bind is reported by step().
  Statement &bind(int index, absl::string_view text);
  Statement &bind(int index, int64_t value);
  Statement &bind(int index, double value);
  Statement &bind_null(int index);

  // True while there is a row to read.
  absl::StatusOr<bool> step();
  // Steps to the end, ignoring rows.
  absl::Status run();
  // Clears the bindings and rewinds, to run the statement again.
  void reset();

  bool is_null(int column) const;
  std::string text(int column) const;
  int64_t int64(int column) const;
  double real(int column) const;

 private:
  Statement(Connection connection, sqlite3_stmt *statement) : connection_(connection), statement_(statement) {}
  void note_bind(int code);

  Connection connection_;
  sqlite3_stmt *statement_;
  int bind_error_ = 0;  // the first failed bind's code
};

// BEGIN IMMEDIATE ... COMMIT; rolls back unless committed.
class Transaction {
 public:
  static absl::StatusOr<Transaction> begin(const Connection &connection);
  Transaction(Transaction &&other) noexcept : connection_(other.connection_), open_(other.open_) {
    other.open_ = false;
  }
  Transaction(const Transaction &) = delete;
  ~Transaction();
  absl::Status commit();

 private:
  explicit Transaction(Connection connection) : connection_(connection), open_(true) {}

  Connection connection_;
  bool open_;
};

}  // namespace sejits::tuner::internal
