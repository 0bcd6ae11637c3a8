"""Try the bot without Slack: the real bot, a stand-in Slack on 127.0.0.1, and a web page to drive it."""
