"""The question suite: realistic finance questions, their tool-call plans and SQL oracles."""
