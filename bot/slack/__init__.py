"""The Slack front-end: a Bolt AsyncApp on top of flows/."""
