#pragma once

#include <boost/system/result.hpp>

#include "core/error.hpp"

namespace chatsync {

/// The return type of operations whose failure is an expected outcome (network, upstream,
/// database): a value or an Error (its code and its message), never an exception across a
/// library boundary.
template <class T>
using Result = boost::system::result<T, Error>;

}  // namespace chatsync
