"""From firings to findings: the result document, counter-offers, the interview."""
