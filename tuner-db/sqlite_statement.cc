#include "tuner-db/sqlite_statement.h"

#include <sqlite3.h>

#include "absl/strings/str_cat.h"

namespace sejits::tuner::internal {

absl::Status sqlite_status(const Connection &connection, int code, absl::string_view what) {
  const std::string path = connection.path.string();
  const std::string detail = connection.db != nullptr ? sqlite3_errmsg(connection.db) : sqlite3_errstr(code);
  switch (code & 0xff) {
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
      return absl::UnavailableError(
          absl::StrCat("tuning database ", path, " is locked by another process (", what, ": ", detail, ")"));
    case SQLITE_NOTADB:
    case SQLITE_CORRUPT:
      return absl::DataLossError(
          absl::StrCat("tuning database ", path, " is not a readable SQLite database (", what, ": ", detail, ")"));
    case SQLITE_CANTOPEN:
    case SQLITE_PERM:
    case SQLITE_READONLY:
    case SQLITE_IOERR:
    case SQLITE_FULL:
      return absl::UnavailableError(absl::StrCat("tuning database ", path, ": ", what, ": ", detail));
    default:
      return absl::InternalError(absl::StrCat("tuning database ", path, ": ", what, ": ", detail));
  }
}

absl::Status exec(const Connection &connection, const char *sql) {
  char *message = nullptr;
  const int code = sqlite3_exec(connection.db, sql, nullptr, nullptr, &message);
  sqlite3_free(message);  // sqlite3_errmsg() still has it
  if (code != SQLITE_OK) return sqlite_status(connection, code, sql);
  return absl::OkStatus();
}

absl::StatusOr<std::string> query_text(const Connection &connection, const char *sql) {
  auto statement = Statement::prepare(connection, sql);
  if (!statement.ok()) return statement.status();
  auto row = statement->step();
  if (!row.ok()) return row.status();
  return *row ? statement->text(0) : std::string();
}

absl::StatusOr<Statement> Statement::prepare(const Connection &connection, absl::string_view sql) {
  sqlite3_stmt *statement = nullptr;
  const int code = sqlite3_prepare_v2(connection.db, sql.data(), static_cast<int>(sql.size()), &statement, nullptr);
  if (code != SQLITE_OK) {
    sqlite3_finalize(statement);
    return sqlite_status(connection, code, absl::StrCat("prepare ", sql));
  }
  return Statement(connection, statement);
}

Statement::Statement(Statement &&other) noexcept
    : connection_(other.connection_), statement_(other.statement_), bind_error_(other.bind_error_) {
  other.statement_ = nullptr;
}

Statement::~Statement() { sqlite3_finalize(statement_); }

void Statement::note_bind(int code) {
  if (code != SQLITE_OK && bind_error_ == 0) bind_error_ = code;
}

Statement &Statement::bind(int index, absl::string_view text) {
  note_bind(sqlite3_bind_text(statement_, index, text.data(), static_cast<int>(text.size()), SQLITE_TRANSIENT));
  return *this;
}

Statement &Statement::bind(int index, int64_t value) {
  note_bind(sqlite3_bind_int64(statement_, index, value));
  return *this;
}

Statement &Statement::bind(int index, double value) {
  note_bind(sqlite3_bind_double(statement_, index, value));
  return *this;
}

Statement &Statement::bind_null(int index) {
  note_bind(sqlite3_bind_null(statement_, index));
  return *this;
}

absl::StatusOr<bool> Statement::step() {
  if (bind_error_ != 0) return sqlite_status(connection_, bind_error_, absl::StrCat("bind ", sqlite3_sql(statement_)));
  const int code = sqlite3_step(statement_);
  if (code == SQLITE_ROW) return true;
  if (code == SQLITE_DONE) return false;
  return sqlite_status(connection_, code, sqlite3_sql(statement_));
}

absl::Status Statement::run() {
  while (true) {
    auto row = step();
    if (!row.ok()) return row.status();
    if (!*row) return absl::OkStatus();
  }
}

void Statement::reset() {
  sqlite3_reset(statement_);
  sqlite3_clear_bindings(statement_);
  bind_error_ = 0;
}

bool Statement::is_null(int column) const { return sqlite3_column_type(statement_, column) == SQLITE_NULL; }

std::string Statement::text(int column) const {
  const auto *bytes = reinterpret_cast<const char *>(sqlite3_column_text(statement_, column));
  return bytes == nullptr ? std::string() : std::string(bytes, sqlite3_column_bytes(statement_, column));
}

int64_t Statement::int64(int column) const { return sqlite3_column_int64(statement_, column); }

double Statement::real(int column) const { return sqlite3_column_double(statement_, column); }

absl::StatusOr<Transaction> Transaction::begin(const Connection &connection) {
  // IMMEDIATE takes the write lock now, so a busy database fails here (after
  // the busy timeout) rather than halfway through the writes.
  if (absl::Status begun = exec(connection, "BEGIN IMMEDIATE"); !begun.ok()) return begun;
  return Transaction(connection);
}

Transaction::~Transaction() {
  if (open_) sqlite3_exec(connection_.db, "ROLLBACK", nullptr, nullptr, nullptr);
}

absl::Status Transaction::commit() {
  absl::Status committed = exec(connection_, "COMMIT");
  if (committed.ok()) open_ = false;  // a failed COMMIT leaves the transaction open: the destructor rolls back
  return committed;
}

}  // namespace sejits::tuner::internal
