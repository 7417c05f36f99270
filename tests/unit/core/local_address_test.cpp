#include "core/local_address.hpp"

#include <gtest/gtest.h>

namespace chatsync {
namespace {

TEST(CheckLocalAddress, AcceptsOwnAddressesOnly) {
    EXPECT_TRUE(CheckLocalAddress("127.0.0.1"));
    const auto missing = CheckLocalAddress("192.0.2.1");  // TEST-NET-1, on no host.
    ASSERT_FALSE(missing);
    EXPECT_EQ(missing.error(), boost::system::errc::address_not_available);
    EXPECT_FALSE(CheckLocalAddress("not-an-address"));
}

}  // namespace
}  // namespace chatsync
