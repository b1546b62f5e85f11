"""Finance: what the processors recorded and paid out, reports and reconciliation."""
