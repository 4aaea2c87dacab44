"""The CPU speed kit: drop-in layers with the reference's parameter names (layers.py), the
kernels behind them, and running a step's halves side by side on two threads."""
