"""What the reader sees: tables (mean ± std over seeds, the scorecard, what the data are),
findings as sentences computed from the numbers, and figures."""
