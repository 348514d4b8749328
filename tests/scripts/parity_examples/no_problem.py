"""An example without a parity check."""

print("training without a parity check")
