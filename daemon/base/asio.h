// The one place that includes Boost.Asio for pghealthd. Boost 1.74's coroutine headers use std::exchange
// without including <utility>, which breaks under GCC 12 in C++20 mode: include it first.
#pragma once

#include <utility>

#include <boost/asio.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/use_awaitable.hpp>

namespace pghealthd {
namespace asio = boost::asio;
using asio::awaitable;
using asio::use_awaitable;
}  // namespace pghealthd
