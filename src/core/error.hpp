// Errors as values. Every fallible function across a module boundary returns Result<T> or
// Status; an Error carries a module-scoped code ("sbv2.block_crc") that tests and scripts can
// match, and one sentence a user understands, which the CLI prints as is.
#pragma once

#include <expected>
#include <string>
#include <string_view>
#include <utility>

#include <fmt/format.h>

namespace espsec {

struct Error {
  std::string code;     // "<module>.<site>", stable across releases
  std::string message;  // one human sentence, no trailing newline
};

template <class T>
using Result = std::expected<T, Error>;
using Status = std::expected<void, Error>;

inline std::unexpected<Error> make_error(std::string code, std::string message) {
  return std::unexpected<Error>(Error{std::move(code), std::move(message)});
}

template <class... Args>
[[nodiscard]] std::unexpected<Error> fail(std::string code, fmt::format_string<Args...> format,
                                          Args&&... args) {
  return make_error(std::move(code), fmt::format(format, std::forward<Args>(args)...));
}

// Prefixes the message with where it happened ("app.bin: "), keeping the code.
[[nodiscard]] inline Error with_context(Error error, std::string_view context) {
  error.message = fmt::format("{}: {}", context, error.message);
  return error;
}

}  // namespace espsec

// Early return of the error of a Status-returning (or any Result-returning) expression.
#define ESPSEC_TRY(expr)                                       \
  do {                                                         \
    if (auto espsec_try_result_ = (expr); !espsec_try_result_) \
      return std::unexpected(std::move(espsec_try_result_).error()); \
  } while (0)

#define ESPSEC_CONCAT_INNER_(a, b) a##b
#define ESPSEC_CONCAT_(a, b) ESPSEC_CONCAT_INNER_(a, b)
#define ESPSEC_ASSIGN_OR_RETURN_IMPL_(tmp, lhs, expr) \
  auto tmp = (expr);                                  \
  if (!tmp) return std::unexpected(std::move(tmp).error()); \
  lhs = std::move(*tmp)

// ESPSEC_ASSIGN_OR_RETURN(auto image, parse_image(bytes));
#define ESPSEC_ASSIGN_OR_RETURN(lhs, expr) \
  ESPSEC_ASSIGN_OR_RETURN_IMPL_(ESPSEC_CONCAT_(espsec_assign_tmp_, __LINE__), lhs, expr)
