"""The kvcore command's own answers (the node it starts is tested elsewhere)."""

from __future__ import annotations

import pytest

from kvcore import ETCD_API_VERSION, __version__, cli


def test_version_flag_and_command_say_the_same(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as done:
        cli.main(["--version"])
    assert done.value.code == 0
    flag = capsys.readouterr().out
    assert cli.main(["version"]) == 0
    assert capsys.readouterr().out == flag
    assert flag == f"kvcore version: {__version__}\netcd API version: {ETCD_API_VERSION}\n"
