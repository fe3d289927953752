"""``python -m msk_pair.cli``: the same as the ``msk-pair`` console script."""

from msk_pair.cli import main

raise SystemExit(main())
