"""The computing core: pure functions from (inputs, rules, prior ledger state) to pay lines and new state.

No I/O here, and no ``typer``/``rich`` imports (tests/test_layers.py checks it). Every RULEBOOK number
comes from the rule set; tests/test_no_literals.py checks that none is written in this package.
"""
