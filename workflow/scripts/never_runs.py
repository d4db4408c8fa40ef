"""Never runs: the rule not_planned stops while planning (workflow/rules/aggregate.smk)."""

raise SystemExit("not_planned: this rule stops while planning and never runs")
