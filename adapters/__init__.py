"""Chat front ends (terminal, Discord, Slack) and the composition root that wires them."""
