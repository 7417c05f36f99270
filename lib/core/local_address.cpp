#include "core/local_address.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/address.hpp>
#include <boost/asio/ip/udp.hpp>

namespace chatsync {

namespace net = boost::asio;

Result<void> CheckLocalAddress(const std::string& address) {
    boost::system::error_code ec;
    const auto parsed = net::ip::make_address(address, ec);
    if (ec) {
        return make_error_code(boost::system::errc::invalid_argument);
    }
    net::io_context context;
    net::ip::udp::socket socket(context);
    socket.open(parsed.is_v4() ? net::ip::udp::v4() : net::ip::udp::v6(), ec);
    if (ec) {
        return ec;
    }
    socket.bind(net::ip::udp::endpoint(parsed, 0), ec);
    if (ec) {
        return ec;
    }
    return {};
}

}  // namespace chatsync
