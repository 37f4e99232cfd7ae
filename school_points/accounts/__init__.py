"""Students' points accounts: the ledger (the only writer of balances, entries and lots) and
the reconciliation check that they add up."""
