"""Loan servicing: repayment schedule, payoff, allocation of repayments and their distribution to lenders."""
