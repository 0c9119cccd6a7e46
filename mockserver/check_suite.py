"""The contract suite as a pytest module, for ``sms-mockserver check`` (not imported
otherwise): the target comes from :data:`mockserver.kit.TARGET_ENV`."""

from __future__ import annotations

from mockserver.kit import Target, suite

_target = Target.from_env()
globals()[f"test_{_target.provider}_contract"] = suite(_target)
