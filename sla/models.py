"""Deadlines, colours and escalation: built in the deadlines issue (#3)."""
