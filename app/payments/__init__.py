"""Bank accounts (and their verification by micro-deposits), payments and their state machine: the money rail's books."""
