#pragma once
// The one way into Boost.Asio for insitu. GCC 12 with Boost 1.74 needs <utility> before
// awaitable.hpp ("exchange is not a member of std").
#include <utility>

#include <boost/asio.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/use_awaitable.hpp>

namespace insitu {
namespace asio = boost::asio;
template <typename T = void>
using awaitable = boost::asio::awaitable<T>;
}  // namespace insitu
