#pragma once

#include <boost/system/result.hpp>

namespace chatsync {

/// The return type of operations whose failure is an expected outcome (network, upstream,
/// database): a value or an error_code, never an exception across a library boundary.
template <class T>
using Result = boost::system::result<T>;

}  // namespace chatsync
