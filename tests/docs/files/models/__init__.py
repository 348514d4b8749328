"""The model of the README's TF1 script (``train.py``), kept apart as TF1 projects did."""
