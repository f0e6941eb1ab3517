#include <doctest/doctest.h>

#include "esc/mail.hpp"

using namespace esc;

namespace {
Time utc(const char* rfc3339) { return *parse_rfc3339(rfc3339); }
}  // namespace

TEST_CASE("mail dates: RFC 5322, with and without the day, obsolete zones, comments") {
  CHECK(parse_mail_date("Fri, 20 Nov 2026 10:15:00 +0000") == utc("2026-11-20T10:15:00Z"));
  CHECK(parse_mail_date("20 Nov 2026 12:05 +0200") == utc("2026-11-20T10:05:00Z"));
  CHECK(parse_mail_date("Fri, 20 Nov 2026 05:15:00 EST") == utc("2026-11-20T10:15:00Z"));
  CHECK(parse_mail_date("Fri, 20 Nov 2026 10:15:00 +0000 (UTC)") == utc("2026-11-20T10:15:00Z"));
  CHECK(parse_mail_date("Fri, 20 Nov 26 10:15:00 GMT") == utc("2026-11-20T10:15:00Z"));
  CHECK_FALSE(parse_mail_date("yesterday"));
  CHECK_FALSE(parse_mail_date("Fri, 31 Feb 2026 10:15:00 +0000"));
  CHECK_FALSE(parse_mail_date("Fri, 20 Nov 2026 25:15:00 +0000"));
}

TEST_CASE("encoded words: Q and B, UTF-8 and Latin-1, the space between two words dropped") {
  CHECK(decode_words("=?utf-8?Q?J=C3=A9r=C3=B4me_Dupont?=") == "Jérôme Dupont");
  CHECK(decode_words("=?iso-8859-1?Q?Bj=F6rn?= Vendor") == "Björn Vendor");
  CHECK(decode_words("=?UTF-8?B?w4lxdWlwZQ==?= =?UTF-8?B?IGZvdXI=?=") == "Équipe four");
  CHECK(decode_words("plain words") == "plain words");
  CHECK(decode_words("=?utf-8?X?broken?=") == "=?utf-8?X?broken?=");
}

TEST_CASE("a reply: its ids, sender, date and plain text, quoted-printable undone") {
  const auto m = parse_mail(
      "From: \"Eng, Jane\" <jane@example.com>\r\n"
      "To: support@example.com\r\n"
      "Subject: =?utf-8?Q?Re:_caf=C3=A9?=\r\n"
      "Date: Fri, 20 Nov 2026 10:15:00 +0000\r\n"
      "Message-ID: <r1@mail.example.com>\r\n"
      "In-Reply-To: <key-1@example.com>\r\n"
      "References: <key-0@example.com>\r\n"
      "  <key-1@example.com>\r\n"
      "Content-Type: text/plain; charset=\"utf-8\"\r\n"
      "Content-Transfer-Encoding: quoted-printable\r\n"
      "\r\n"
      "On it =E2=80=94 give us an hour. This line is long enough to be soft-=\r\n"
      "wrapped.\r\n");
  CHECK(m.message_id == "<r1@mail.example.com>");
  CHECK(m.in_reply_to == std::vector<std::string>{"<key-1@example.com>"});
  CHECK(m.references == std::vector<std::string>{"<key-0@example.com>", "<key-1@example.com>"});
  CHECK(m.from.name == "Eng, Jane");
  CHECK(m.from.address == "jane@example.com");
  CHECK(m.subject == "Re: café");
  CHECK(m.date == utc("2026-11-20T10:15:00Z"));
  CHECK(m.text == "On it — give us an hour. This line is long enough to be soft-wrapped.\n");
}

TEST_CASE("multipart: the plain part (base64, Latin-1) wins over HTML; HTML alone is stripped") {
  const auto m = parse_mail(
      "From: bob@vendor.net (Bob Vendor)\n"
      "Content-Type: multipart/mixed; boundary=outer\n"
      "\n"
      "preamble\n"
      "--outer\n"
      "Content-Type: multipart/alternative; boundary=\"inner\"\n"
      "\n"
      "--inner\n"
      "Content-Type: text/html\n"
      "\n"
      "<p>ignored</p>\n"
      "--inner\n"
      "Content-Type: text/plain; charset=iso-8859-1\n"
      "Content-Transfer-Encoding: base64\n"
      "\n"
      "R3L832UsIGRyYWluZWQu\n"
      "--inner--\n"
      "--outer\n"
      "Content-Type: application/pdf\n"
      "\n"
      "%PDF\n"
      "--outer--\n");
  CHECK(m.from.name == "Bob Vendor");
  CHECK(m.from.address == "bob@vendor.net");
  CHECK(m.text == "Grüße, drained.");
  const auto h = parse_mail(
      "Content-Type: text/html; charset=utf-8\n\n<html><head><style>p{}</style></head><body><p>Fixed &amp; "
      "deployed</p><br>Jane</body></html>\n");
  CHECK(h.text.find("Fixed & deployed") != std::string::npos);
  CHECK(h.text.find("p{}") == std::string::npos);
  CHECK(h.text.find("Jane") != std::string::npos);
}

TEST_CASE("a message without headers or with nonsense parses to what it has") {
  CHECK(parse_mail("").text.empty());
  const auto m = parse_mail("no colon here\nat all");
  CHECK(m.message_id.empty());
  CHECK(m.text == "no colon here\nat all");
  CHECK(message_ids("<a@b> junk <c@d>, <not an id>") == std::vector<std::string>{"<a@b>", "<c@d>"});
}

TEST_CASE("reply text: the quote, its attribution, the signature and an Outlook original are cut") {
  CHECK(reply_text("We are on it.\n\nOn Fri, 20 Nov 2026 at 09:00, Support <support@example.com> wrote:\n"
                   "> Only EU cards fail\n> Rolled back\n") == "We are on it.");
  CHECK(reply_text("Fixed.\n\nOn Fri, 20 Nov 2026 at 09:00, Dana Reyes\n<dana@example.com> wrote:\n> x\n") == "Fixed.");
  CHECK(reply_text("> What is the BIN?\n4111 11\n> And the time?\n09:00 UTC\n") == "4111 11\n09:00 UTC");
  CHECK(reply_text("Deployed.\n-- \nJane Eng\nPayments\n") == "Deployed.");
  CHECK(reply_text("Deployed.\n\n-----Original Message-----\nFrom: Support\nSent: today\n") == "Deployed.");
  CHECK(reply_text("Deployed.\n\nFrom: Support <s@x>\nSent: Friday\nTo: eng\nSubject: x\n\nold\n") == "Deployed.");
  CHECK(reply_text("> only a quote\n") == "> only a quote");
}

TEST_CASE("received text: valid UTF-8, no control characters, bounded") {
  CHECK(received_text("ok\r\nline\ttab\x1b[31m\x07") == "ok\nline\ttab[31m");
  CHECK(received_text("bad \xff byte") == "bad \xef\xbf\xbd byte");
  CHECK(received_text("c1 \xc2\x9b here") == "c1  here");
  const std::string long_text(100, 'a');
  const std::string cut = received_text(long_text, 10);
  CHECK(cut.starts_with("aaaaaaaaaa\n"));
  CHECK(cut.find("90 more bytes") != std::string::npos);
  CHECK(received_text("\xc3\xa9\xc3\xa9", 3).starts_with("\xc3\xa9\n"));
}
