from cmsettle.ruleset.loader import LoadedRuleSet, load_all, parse_ruleset, resolve
from cmsettle.ruleset.schema import RuleSet

__all__ = ["LoadedRuleSet", "RuleSet", "load_all", "parse_ruleset", "resolve"]
