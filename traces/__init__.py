"""The durable record of every inference call."""
