"""``python -m mockserver``: the same as the ``sms-mockserver`` command."""

from .cli import main

raise SystemExit(main())
