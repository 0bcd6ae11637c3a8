"""Chat front-ends (Slack now, Teams later), the command line, and the runtime that wires them."""
