#pragma once

#include <concepts>
#include <iosfwd>
#include <string>
#include <system_error>
#include <type_traits>
#include <utility>

#include <boost/assert/source_location.hpp>
#include <boost/system/error_code.hpp>

/// @file
/// chatsync's own error codes, and the conditions that callers test instead of codes.

namespace chatsync {

/// Error codes for expected runtime failures. Each one is a value that travels in a Result.
enum class Errc {
    /// The upstream answered with an HTTP status or body that the error rules call a failure.
    kUpstreamStatus = 1,
    /// The upstream asked us to slow down (429, 503 with Retry-After, or an error rule).
    kUpstreamRateLimited,
    /// The upstream rejected our credentials (401, or an error rule), even after a fresh login.
    kUpstreamAuth,
    /// The upstream's body was not the JSON the connector spec describes.
    kUpstreamBadPayload,
    /// An error rule asked to stop this source until an operator clears a latch.
    kUpstreamLatched,
    /// The response body exceeded the configured size limit.
    kResponseTooLarge,
    /// An HTTP operation did not finish within its timeout.
    kTimeout,
    /// A URL could not be parsed or resolved.
    kBadUrl,
    /// TLS handshake or certificate verification failed.
    kTls,
    /// Retries were exhausted; the last underlying failure was logged and counted.
    kRetriesExhausted,
    /// A database failure that may pass: a broken connection, a serialization failure.
    kSinkTransient,
    /// A database failure that retrying will not fix: bad SQL, a constraint, a type error.
    kSinkPermanent,
    /// The operation was cancelled because the daemon is shutting down.
    kCancelled,
    /// The source is refused by a safety guard (for example a missing pinned egress address).
    kGuardRefused,
    /// Another process is running the same resource against the same database (it holds the
    /// resource's run lock); this run is skipped, and the other one is left alone.
    kResourceBusy,
    /// An earlier answer stopped every resource of the source for a while (rejected
    /// credentials, or an error rule with action `hold`); this run sent nothing.
    kSourceHeld,
};

/// Conditions match codes across categories, so callers test meaning, not origin.
enum class Condition {
    /// Worth trying again after a wait: timeouts, resets, 5xx, transient database errors.
    kRetryable = 1,
    /// Retrying will not help until something changes: auth, bad payload, permanent SQL.
    kPermanent,
};

const boost::system::error_category& ErrorCategory() noexcept;
const boost::system::error_category& ConditionCategory() noexcept;

boost::system::error_code make_error_code(Errc e
) noexcept;                                           // NOLINT(readability-identifier-naming)
boost::system::error_condition make_error_condition(  // NOLINT(readability-identifier-naming)
    Condition c
) noexcept;

/// A short, stable, lower-case name for an error code, fit for a metric label
/// ("timeout", "upstream_status", "connection_refused"...).
std::string ErrorKind(const boost::system::error_code& ec);

/// An expected failure as a value: the code that callers branch on (and test against the
/// conditions) together with the message that explains this failure (what failed, with the
/// upstream's or the database's words, already redacted where secrets could appear). The
/// message travels with the code, so concurrent calls each report their own failure.
///
/// It converts to its error_code, so `ErrorKind(e)`, `e == Errc::kTimeout` and
/// `e == Condition::kRetryable` work on it as on a plain code.
class Error {
public:
    Error() = default;

    // Implicit on purpose: `co_return Errc::kCancelled;` and `co_return ec;` make an Error.
    // NOLINTNEXTLINE(google-explicit-constructor)
    Error(boost::system::error_code code, std::string message = {})
        : code_(code)
        , message_(std::move(message)) {}

    template <class E>

    requires boost::system::is_error_code_enum<E>::value
    Error(E code, std::string message = {})  // NOLINT(google-explicit-constructor)
        : code_(make_error_code(code))
        , message_(std::move(message)) {}

    const boost::system::error_code& code() const noexcept { return code_; }

    /// What failed and why; the code's own message when the failure gave no explanation.
    std::string message() const { return message_.empty() ? code_.message() : message_; }

    // NOLINTNEXTLINE(google-explicit-constructor): an Error is usable wherever a code is.
    operator const boost::system::error_code&() const noexcept { return code_; }

private:
    boost::system::error_code code_;
    std::string message_;
};

// The comparisons take the Error side as a deduced parameter, so that no conversion can make
// them candidates for comparisons between plain codes and enums.

template <class A>
requires std::same_as<A, Error>

bool operator==(const A& a, const boost::system::error_code& b) noexcept {
    return a.code() == b;
}

template <class A>
requires std::same_as<A, Error>

bool operator==(const A& a, const boost::system::error_condition& b) noexcept {
    return a.code() == b;
}

template <class A, class E>

requires std::same_as<A, Error> &&
    (boost::system::is_error_code_enum<E>::value || boost::system::is_error_condition_enum<E>::value
    ) bool
    operator==(const A& a, E b) noexcept {
    return a.code() == b;
}

/// Prints the code's kind and the message (test failure output, logs).
std::ostream& operator<<(std::ostream& out, const Error& e);

/// Called by Result<T>::value() on an error: throws boost::system::system_error with the
/// code and the message.
[[noreturn]] void throw_exception_from_error(  // NOLINT(readability-identifier-naming)
    const Error& e,
    const boost::source_location& loc
);

}  // namespace chatsync

namespace boost::system {
template <>
struct is_error_code_enum<chatsync::Errc> : std::true_type {};

template <>
struct is_error_condition_enum<chatsync::Condition> : std::true_type {};
}  // namespace boost::system
