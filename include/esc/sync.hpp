#pragma once

// `esc sync`: what the next level did with each escalation of a case not
// yet resolved, read from the trackers and mailboxes it was delivered to,
// and recorded on the case once.

#include <cstdint>
#include <string>
#include <vector>

#include "esc/config.hpp"
#include "esc/follow.hpp"
#include "esc/store.hpp"

namespace esc::app {

// What one delivery's reading added to its case.
struct SyncedDelivery {
  std::int64_t case_id = 0;
  std::int64_t delivery_id = 0;
  std::string channel, path, source;
  int level = 1;
  std::string acknowledged_by;  // set when this sync recorded the acknowledgement
  int replies = 0;
  bool resolved = false;
  bool reopened = false;  // resolved upstream before, open there again
  std::string error;      // this delivery alone could not be read (the others were)
};

struct SyncProblem {
  std::string channel;
  FollowResult::Failure failure = FollowResult::Failure::unreachable;
  std::string error;
};

struct SyncReport {
  std::vector<SyncedDelivery> changed;  // those with something new, or an error of their own
  std::vector<SyncProblem> problems;    // channels that could not be read (or not all of them)
  std::vector<std::pair<std::string, std::string>> not_followed;  // channel, what it needs to be followed
  int followed = 0;                                               // deliveries read
  int entries = 0;                                                // entries added
  int reopened = 0;                                               // tickets open again whose resolution was struck
};

// Reads every channel that delivered an escalation of a case not yet
// resolved, and records what is new: a `reply` per comment, note or
// e-mail; an `acknowledged` entry (and the escalation's acknowledgement,
// when it has none) for an assignment, a status in progress, an
// acknowledged incident or a recipient's first reply; a
// `resolved-upstream` entry for a ticket resolved or closed (struck, with
// the ticket's status, when it is open there again). Each entry
// carries its source ("jira ESC-12", "e-mail"), its id there (recorded
// once), and in `state` the path it answers. Each delivery's findings are
// one transaction. A channel that cannot be read is reported and the
// others are read all the same.
SyncReport sync(Store& store, const Config& cfg, Time now);

}  // namespace esc::app
