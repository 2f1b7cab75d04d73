"""The CLI's error policy: usage errors exit 2 with one line; --help exits 0; import stays light."""

from __future__ import annotations

import subprocess
import sys


def test_unknown_command_and_bad_option_exit_2_with_one_line(cli):
    for args in (("no-such-command",), ("bon", "x.csv", "--gold", "g", "--proxy", "p", "--uwo-lambda", "abc")):
        r = cli(*args)
        assert r.code == 2, r.err
        assert r.err.count("\n") == 1 and r.err.startswith("overopt: error:")
        assert "Traceback" not in r.err


def test_help_exits_0(cli):
    r = cli("--help")
    assert r.code == 0 and "bon" in r.out


def test_import_overopt_does_not_import_torch():
    code = "import sys, overopt, overopt.cli; overopt.bon_curve; assert 'torch' not in sys.modules, 'torch imported'"
    subprocess.run([sys.executable, "-c", code], check=True)
