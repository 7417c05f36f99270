#include "core/error.hpp"

#include <ostream>

#include <boost/asio/error.hpp>
#include <boost/system/system_error.hpp>
#include <boost/throw_exception.hpp>

namespace chatsync {
namespace {

// boost::system::error_category has a protected non-virtual destructor by design (categories
// are never deleted through a base pointer), which -Wnon-virtual-dtor cannot see.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wnon-virtual-dtor"

class ErrcCategory final : public boost::system::error_category {
public:
    const char* name() const noexcept override { return "chatsync"; }

    std::string message(int ev) const override {
        switch (static_cast<Errc>(ev)) {
            case Errc::kUpstreamStatus:
                return "upstream returned an error";
            case Errc::kUpstreamRateLimited:
                return "upstream rate limit";
            case Errc::kUpstreamAuth:
                return "upstream rejected the credentials";
            case Errc::kUpstreamBadPayload:
                return "upstream sent a malformed payload";
            case Errc::kUpstreamLatched:
                return "source latched by an error rule";
            case Errc::kResponseTooLarge:
                return "response body too large";
            case Errc::kTimeout:
                return "timed out";
            case Errc::kBadUrl:
                return "bad URL";
            case Errc::kTls:
                return "TLS failure";
            case Errc::kRetriesExhausted:
                return "retries exhausted";
            case Errc::kSinkTransient:
                return "transient database failure";
            case Errc::kSinkPermanent:
                return "database failure";
            case Errc::kCancelled:
                return "cancelled";
            case Errc::kGuardRefused:
                return "refused by a safety guard";
            case Errc::kResourceBusy:
                return "resource is being synced by another process";
            case Errc::kSourceHeld:
                return "source held after an earlier refusal";
        }
        return "unknown chatsync error";
    }

    boost::system::error_condition default_error_condition(int ev) const noexcept override {
        switch (static_cast<Errc>(ev)) {
            case Errc::kUpstreamStatus:
            case Errc::kUpstreamRateLimited:
            case Errc::kTimeout:
            case Errc::kSinkTransient:
                return {static_cast<int>(Condition::kRetryable), ConditionCategory()};
            default:
                return {static_cast<int>(Condition::kPermanent), ConditionCategory()};
        }
    }
};

class CondCategory final : public boost::system::error_category {
public:
    const char* name() const noexcept override { return "chatsync.condition"; }

    std::string message(int ev) const override {
        return static_cast<Condition>(ev) == Condition::kRetryable ? "retryable" : "permanent";
    }

    bool equivalent(const boost::system::error_code& code, int condition) const noexcept override {
        namespace ae = boost::asio::error;
        const bool retryable = code == ae::timed_out || code == ae::connection_refused ||
                               code == ae::connection_reset || code == ae::connection_aborted ||
                               code == ae::broken_pipe || code == ae::eof ||
                               code == ae::network_unreachable || code == ae::host_unreachable ||
                               code == ae::try_again || code == ae::host_not_found_try_again;
        if (code.category() == ErrorCategory()) {
            return code.category().default_error_condition(code.value()).value() == condition;
        }
        return static_cast<Condition>(condition) == Condition::kRetryable ? retryable : !retryable;
    }
};

#pragma GCC diagnostic pop

}  // namespace

const boost::system::error_category& ErrorCategory() noexcept {
    static const ErrcCategory kCategory;
    return kCategory;
}

const boost::system::error_category& ConditionCategory() noexcept {
    static const CondCategory kCategory;
    return kCategory;
}

boost::system::error_code make_error_code(Errc e) noexcept {
    return {static_cast<int>(e), ErrorCategory()};
}

boost::system::error_condition make_error_condition(Condition c) noexcept {
    return {static_cast<int>(c), ConditionCategory()};
}

std::string ErrorKind(const boost::system::error_code& ec) {
    namespace ae = boost::asio::error;
    if (!ec) {
        return "ok";
    }
    if (ec.category() == ErrorCategory()) {
        switch (static_cast<Errc>(ec.value())) {
            case Errc::kUpstreamStatus:
                return "upstream_status";
            case Errc::kUpstreamRateLimited:
                return "rate_limited";
            case Errc::kUpstreamAuth:
                return "auth_failed";
            case Errc::kUpstreamBadPayload:
                return "bad_payload";
            case Errc::kUpstreamLatched:
                return "latched";
            case Errc::kResponseTooLarge:
                return "too_large";
            case Errc::kTimeout:
                return "timeout";
            case Errc::kBadUrl:
                return "bad_url";
            case Errc::kTls:
                return "tls";
            case Errc::kRetriesExhausted:
                return "retries_exhausted";
            case Errc::kSinkTransient:
                return "db_transient";
            case Errc::kSinkPermanent:
                return "db_permanent";
            case Errc::kCancelled:
                return "cancelled";
            case Errc::kGuardRefused:
                return "guard_refused";
            case Errc::kResourceBusy:
                return "busy";
            case Errc::kSourceHeld:
                return "held";
        }
    }
    if (ec == ae::connection_refused) {
        return "connection_refused";
    }
    if (ec == ae::connection_reset || ec == ae::eof || ec == ae::broken_pipe) {
        return "connection_reset";
    }
    if (ec == ae::timed_out) {
        return "timeout";
    }
    if (ec == ae::host_not_found || ec == ae::host_not_found_try_again) {
        return "dns";
    }
    if (ec == ae::operation_aborted) {
        return "cancelled";
    }
    return "io";
}

std::ostream& operator<<(std::ostream& out, const Error& e) {
    return out << ErrorKind(e.code()) << ": " << e.message();
}

void throw_exception_from_error(const Error& e, const boost::source_location& loc) {
    boost::throw_exception(boost::system::system_error(e.code(), e.message()), loc);
}

}  // namespace chatsync
