"""A clean-room reference implementation of the RULEBOOK (rulebook.py) and a generator of small random
branches (scenario.py), used by tests/test_reference_diff.py to check `settle simulate` to the fen.

Written from /work/shared/spec/ only: nothing here reads or imports cmsettle.compute."""
