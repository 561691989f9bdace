// The SMTP wire format: multi-line replies, EHLO extensions, dot-stuffing.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "adapters/email/smtp_wire.h"

namespace hart::adapters::email {
namespace {

using ::testing::ElementsAre;

TEST(SmtpReplyParserTest, JoinsAMultiLineReplyAndFindsExtensions) {
  SmtpReplyParser parser;
  EXPECT_FALSE(parser.AddLine("250-mail.partner.test greets you").value());
  EXPECT_FALSE(parser.AddLine("250-starttls").value());
  EXPECT_FALSE(parser.AddLine("250-AUTH PLAIN login").value());
  EXPECT_TRUE(parser.AddLine("250 8BITMIME").value());
  SmtpReply reply = parser.Take();
  EXPECT_EQ(reply.code, 250);
  EXPECT_EQ(reply.lines.size(), 4u);
  EXPECT_TRUE(reply.HasExtension("STARTTLS"));
  EXPECT_FALSE(reply.HasExtension("PIPELINING"));
  EXPECT_THAT(reply.ExtensionParams("AUTH"), ElementsAre("PLAIN", "LOGIN"));
  // The first line is the greeting, not an extension.
  EXPECT_FALSE(reply.HasExtension("mail.partner.test"));
}

TEST(SmtpReplyParserTest, AcceptsTheObsoleteAuthEqualsForm) {
  SmtpReplyParser parser;
  ASSERT_FALSE(parser.AddLine("250-hello").value());
  ASSERT_TRUE(parser.AddLine("250 AUTH=LOGIN").value());
  EXPECT_THAT(parser.Take().ExtensionParams("AUTH"), ElementsAre("LOGIN"));
}

TEST(SmtpReplyParserTest, RejectsMalformedLinesAndMixedCodes) {
  SmtpReplyParser parser;
  EXPECT_FALSE(parser.AddLine("hello").ok());
  EXPECT_FALSE(parser.AddLine("25").ok());
  EXPECT_FALSE(parser.AddLine("250x").ok());
  SmtpReplyParser mixed;
  ASSERT_FALSE(mixed.AddLine("250-first").value());
  EXPECT_FALSE(mixed.AddLine("251 second").ok());
}

TEST(SmtpReplyParserTest, ABareCodeIsACompleteReply) {
  SmtpReplyParser parser;
  EXPECT_TRUE(parser.AddLine("354").value());
  EXPECT_EQ(parser.Take().code, 354);
}

TEST(SmtpReplyTest, SummaryIsPrintableAndBounded) {
  SmtpReply reply{550, {std::string("5.1.1 no such user\x01") + std::string(500, 'x')}};
  const std::string summary = reply.Summary();
  EXPECT_EQ(summary.rfind("550 5.1.1 no such user", 0), 0u);
  EXPECT_EQ(summary.find('\x01'), std::string::npos);
  EXPECT_LT(summary.size(), 200u);
  EXPECT_EQ((SmtpReply{421, {}}).Summary(), "421");
}

TEST(DotStuffTest, DoublesLeadingDotsAndTerminates) {
  EXPECT_EQ(DotStuff("a\r\n.b\r\n..c\r\n"), "a\r\n..b\r\n...c\r\n.\r\n");
  EXPECT_EQ(DotStuff(".\r\n"), "..\r\n.\r\n");
  EXPECT_EQ(DotStuff("no final break"), "no final break\r\n.\r\n");
  EXPECT_EQ(DotStuff("bare\nlf\n.x"), "bare\r\nlf\r\n..x\r\n.\r\n");
  EXPECT_EQ(DotStuff(""), ".\r\n");
  EXPECT_EQ(DotStuff("mid.dot\r\n"), "mid.dot\r\n.\r\n");
}

}  // namespace
}  // namespace hart::adapters::email
