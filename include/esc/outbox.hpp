#pragma once

#include <string>
#include <vector>

#include "esc/config.hpp"
#include "esc/store.hpp"

namespace esc {

struct Attempt {
  Delivery delivery;
  bool attempted = false;  // false: another process holds it, or it is no longer pending
  bool ok = false;
  std::string error;
};

// The back-off before attempt number `attempts + 1`: retry_base doubled
// for each failed attempt, capped at retry_max.
Seconds backoff(const Config& cfg, int attempts);

// Claims the delivery, renders its payload from the escalation's snapshot,
// delivers it and records the outcome, each step in its own transaction.
// `now` is the domain clock (dates, back-off); claims use the wall clock.
Attempt attempt_delivery(Store& store, const Config& cfg, std::int64_t delivery_id, Time now);

}  // namespace esc
