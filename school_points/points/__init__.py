"""How points are earned and lost: teachers' evaluations, growth records (check-ins, likes,
shares, official-account check-ins), sign-in, birthdays, referrals, manual adjustments and
expiry. Every change of a balance goes through accounts.ledger."""
