#pragma once

// Reading the replies `esc sync` finds in a mailbox: an RFC 5322 message
// with its MIME parts, reduced to what a timeline entry needs.

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "esc/time.hpp"

namespace esc {

struct MailAddress {
  std::string name;     // the display name, decoded; empty when none
  std::string address;  // local@domain as written
};

struct MailMessage {
  std::string message_id;                // "<...>", empty when the message has none
  std::vector<std::string> in_reply_to;  // the message ids it answers
  std::vector<std::string> references;
  MailAddress from;
  std::optional<Time> date;
  std::string subject;  // decoded (RFC 2047)
  std::string text;     // the body as plain text: UTF-8, LF line ends
};

// Parses a whole message (headers and body). Never throws: what cannot be
// read is left empty. The body is the first text/plain part (else the
// first text/html part, its tags removed), its transfer encoding
// (quoted-printable, base64) and charset (UTF-8, US-ASCII, ISO-8859-1,
// Windows-1252) undone.
MailMessage parse_mail(std::string_view raw);

// The words of a reply without what it quotes: lines quoted with '>' and
// the "On ... wrote:" line before them, an Outlook-style original message,
// and the signature are cut. The whole text when nothing else is left.
std::string reply_text(std::string_view text);

// An RFC 5322 date ("Fri, 20 Nov 2026 10:00:00 +0100", obsolete zones too).
std::optional<Time> parse_mail_date(std::string_view text);

// RFC 2047 encoded words in a header value, decoded to UTF-8.
std::string decode_words(std::string_view value);

// The message ids ("<a@b>") in a header value, in order.
std::vector<std::string> message_ids(std::string_view value);

// Text from outside (a mailbox, a tracker) made fit for the log: valid
// UTF-8 (anything else becomes U+FFFD), no carriage returns or other
// control characters but newline and tab, and at most `max` bytes (cut at
// a character boundary, with a line saying how much was left out).
std::string received_text(std::string_view text, std::size_t max = 64 * 1024);

}  // namespace esc
