"""Wallets: prepaid credits with an append-only ledger, auto-refill and Stripe top-ups."""
