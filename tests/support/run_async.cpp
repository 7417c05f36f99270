#include "support/run_async.hpp"
