"""Configuration files: discovery, keys, precedence, errors naming the key and the file."""

from __future__ import annotations

import json
import os

import pytest

from ipt_lint.checks.context import LintOptions
from ipt_lint.policy.config import ConfigError, find_config, load_config

from ..cli.helpers import CLEAN, UNDEFINED, UNKNOWN_MODULE, UNUSED_CHAIN, findings_of, invoke, run_cli, write


# --- discovery ----------------------------------------------------------------------------


def test_nearest_file_upwards_and_order_within_a_folder(tmp_path):
    deep = tmp_path / "a" / "b" / "c"
    deep.mkdir(parents=True)
    assert find_config(str(deep)) is None
    write(tmp_path / "ipt-lint.toml", "")
    assert find_config(str(deep)) == str(tmp_path / "ipt-lint.toml")
    write(tmp_path / "a" / "pyproject.toml", "[project]\nname = 'x'\n")  # no [tool.ipt-lint]: passed over
    assert find_config(str(deep)) == str(tmp_path / "ipt-lint.toml")
    write(tmp_path / "a" / "pyproject.toml", "[tool.ipt-lint]\nselect = ['IPT1']\n")
    assert find_config(str(deep)) == str(tmp_path / "a" / "pyproject.toml")
    write(tmp_path / "a" / "b" / "ipt-lint.toml", "")
    write(tmp_path / "a" / "b" / ".ipt-lint.toml", "")
    assert find_config(str(deep)) == str(tmp_path / "a" / "b" / ".ipt-lint.toml")


def test_config_found_from_working_directory_applies(in_tmp):
    write(in_tmp / "dumps" / "x.rules", UNKNOWN_MODULE)
    assert invoke("--format", "json", "dumps/x.rules").exit_code == 1
    write(in_tmp / ".ipt-lint.toml", 'ignore = ["IPT107"]\n')
    res = invoke("--format", "json", "dumps/x.rules")
    assert res.exit_code == 0 and findings_of(res.stdout) == []
    # from a subfolder, the same file is found upwards
    os.chdir(in_tmp / "dumps")
    res = invoke("--format", "json", "x.rules")
    assert res.exit_code == 0 and findings_of(res.stdout) == []


def test_pyproject_tool_table(in_tmp):
    write(in_tmp / "pyproject.toml", '[project]\nname = "x"\n\n[tool.ipt-lint]\nselect = ["IPT101"]\nfail-on = "error"\n')
    write(in_tmp / "x.rules", UNKNOWN_MODULE)
    res = invoke("--format", "json", "x.rules")
    assert res.exit_code == 0 and findings_of(res.stdout) == []


def test_explicit_config_and_isolated(in_tmp):
    write(in_tmp / ".ipt-lint.toml", 'ignore = ["IPT107"]\n')
    write(in_tmp / "other.toml", 'select = ["IPT101"]\n')
    write(in_tmp / "x.rules", UNKNOWN_MODULE)
    assert invoke("x.rules").exit_code == 0
    assert invoke("--isolated", "x.rules").exit_code == 1
    assert invoke("--config", "other.toml", "x.rules").exit_code == 0
    write(in_tmp / "u.rules", UNDEFINED)
    assert invoke("--config", "other.toml", "u.rules").exit_code == 1


def test_isolated_with_config_is_a_usage_error(in_tmp):
    write(in_tmp / "other.toml", "")
    write(in_tmp / "x.rules", CLEAN)
    res = invoke("--isolated", "--config", "other.toml", "x.rules")
    assert res.exit_code == 2 and "--isolated" in res.stderr


# --- keys and precedence ------------------------------------------------------------------


def test_every_lint_option_is_a_key():
    from ipt_lint.policy.config import _keys

    keys = _keys()
    for name in LintOptions.__dataclass_fields__:
        assert keys[name.replace("_", "-")][0] == name


def test_lint_option_keys_are_checked_and_paths_resolved(tmp_path):
    cfg = load_config(
        str(
            write(
                tmp_path / ".ipt-lint.toml",
                'allow-public = ["tcp/443"]\nsensitive-ports = ["tcp/22"]\nlocal-addresses = ["192.0.2.1"]\n'
                'routes = ["10.8.0.0/24=wg0"]\nipset-file = "sets.save"\nexternal-interfaces = ["eth0"]\n',
            )
        )
    )
    assert cfg.settings["allow_public"] == ("tcp/443",)
    assert cfg.settings["routes"] == ("10.8.0.0/24=wg0",)
    assert cfg.settings["external_interfaces"] == ("eth0",)
    assert cfg.settings["ipset_file"] == str(tmp_path / "sets.save")  # relative to the file


def test_format_from_config_env_beats_it_and_flag_beats_both(in_tmp):
    write(in_tmp / ".ipt-lint.toml", 'format = "concise"\n')
    write(in_tmp / "u.rules", UNDEFINED)
    assert invoke("u.rules").stdout.startswith("u.rules:4:10: IPT101 [error]")
    res = invoke("u.rules", env={"IPT_LINT_FORMAT": "json"})
    assert findings_of(res.stdout) == [("IPT101", 4)]
    res = invoke("--format", "github", "u.rules", env={"IPT_LINT_FORMAT": "json"})
    assert res.stdout.startswith("::error ")


def test_command_line_beats_file_beats_default(in_tmp):
    write(in_tmp / "w.rules", UNKNOWN_MODULE)  # one warning
    assert invoke("w.rules").exit_code == 1  # default fail-on warning
    write(in_tmp / ".ipt-lint.toml", 'fail-on = "error"\n')
    assert invoke("w.rules").exit_code == 0  # file
    assert invoke("--fail-on", "warning", "w.rules").exit_code == 1  # command line


def test_select_on_command_line_replaces_file_select_and_ignore(in_tmp):
    write(in_tmp / ".ipt-lint.toml", 'select = ["IPT101"]\nignore = ["IPT107"]\n')
    write(in_tmp / "w.rules", UNKNOWN_MODULE)
    assert findings_of(invoke("--format", "json", "w.rules").stdout) == []
    assert findings_of(invoke("--format", "json", "--select", "IPT107", "w.rules").stdout) == [("IPT107", 4)]


def test_ignore_on_command_line_adds_to_file_ignore(in_tmp):
    write(in_tmp / ".ipt-lint.toml", 'ignore = ["IPT107"]\n')
    write(in_tmp / "both.rules", UNUSED_CHAIN.replace("-A OLD -j ACCEPT", "-A OLD -m nosuchmatch -j ACCEPT"))
    assert [c for c, _ in findings_of(invoke("--format", "json", "both.rules").stdout)] == ["IPT204"]
    assert findings_of(invoke("--format", "json", "--ignore", "IPT204", "both.rules").stdout) == []


def test_severity_table_and_command_line_override(in_tmp):
    write(in_tmp / ".ipt-lint.toml", '[severity]\nIPT107 = "error"\nunused-chain = "info"\n')
    write(in_tmp / "w.rules", UNKNOWN_MODULE)
    doc = json.loads(invoke("--format", "json", "w.rules").stdout)
    assert [(f["code"], f["severity"]) for f in doc["findings"]] == [("IPT107", "error")]
    res = invoke("--format", "json", "--fail-on", "error", "--severity", "IPT107=info", "w.rules")
    assert res.exit_code == 0
    assert [f["severity"] for f in json.loads(res.stdout)["findings"]] == ["info"]


def test_severity_prefix_most_specific_wins(in_tmp):
    write(in_tmp / ".ipt-lint.toml", 'severity = {IPT1 = "info", IPT101 = "warning"}\n')
    write(in_tmp / "u.rules", UNDEFINED)
    write(in_tmp / "w.rules", UNKNOWN_MODULE)
    doc = json.loads(invoke("--format", "json", "u.rules", "w.rules").stdout)
    assert [(f["code"], f["severity"]) for f in doc["findings"]] == [("IPT101", "warning"), ("IPT107", "info")]


def test_per_file_ignores(in_tmp):
    write(in_tmp / ".ipt-lint.toml", '[per-file-ignores]\n"legacy/*.rules" = ["IPT107"]\n"special.rules" = ["ALL"]\n')
    write(in_tmp / "legacy" / "old.rules", UNKNOWN_MODULE)
    write(in_tmp / "new" / "old.rules", UNKNOWN_MODULE)
    write(in_tmp / "deep" / "special.rules", UNDEFINED)
    doc = json.loads(invoke("--format", "json", "legacy/old.rules", "new/old.rules", "deep/special.rules").stdout)
    assert [(f["file"], f["code"]) for f in doc["findings"]] == [("new/old.rules", "IPT107")]


def test_per_file_ignores_are_relative_to_the_config_file(in_tmp):
    write(in_tmp / ".ipt-lint.toml", '[per-file-ignores]\n"legacy/*.rules" = ["IPT107"]\n')
    write(in_tmp / "legacy" / "old.rules", UNKNOWN_MODULE)
    os.chdir(in_tmp / "legacy")
    res = invoke("--format", "json", "old.rules")
    assert res.exit_code == 0 and findings_of(res.stdout) == []


def test_allow_public_from_config_reaches_the_checks(in_tmp, monkeypatch):
    seen = {}
    import ipt_lint.cli.lint_cmd as lint_cmd

    real = lint_cmd.lint_text

    def spy(data, name, *, options, selection, family):
        seen["options"] = options
        return real(data, name, options=options, selection=selection, family=family)

    monkeypatch.setattr(lint_cmd, "lint_text", spy)
    write(in_tmp / ".ipt-lint.toml", 'allow-public = ["tcp/443"]\nexternal-interfaces = ["eth0"]\n')
    write(in_tmp / "c.rules", CLEAN)
    assert invoke("c.rules").exit_code == 0
    assert seen["options"].allow_public == ("tcp/443",) and seen["options"].external_interfaces == ("eth0",)
    assert invoke("--allow-public", "udp/53", "c.rules").exit_code == 0
    assert seen["options"].allow_public == ("udp/53",)  # command line replaces the file's list


# --- errors: exit 2, one line, naming the key and the file ---------------------------------


@pytest.mark.parametrize(
    "content, key",
    [
        ('selct = ["IPT1"]\n', "selct"),
        ('select = ["NOPE123"]\n', "select"),
        ('select = "IPT101"\n', "select"),
        ('fail-on = "sometimes"\n', "fail-on"),
        ('severity = {EXP301 = "loud"}\n', "severity"),
        ('severity = {NOPE = "error"}\n', "severity"),
        ('allow-public = ["https"]\n', "allow-public"),
        ('per-file-ignores = {"a/*.rules" = ["XYZ"]}\n', "per-file-ignores"),
        ('format = "xml"\n', "format"),
        ("jobs = -1\n", "jobs"),
        ('routes = ["10.0.0.0/8"]\n', "routes"),
    ],
)
def test_bad_config_exits_2_naming_key_and_file(in_tmp, content, key):
    cfg = write(in_tmp / ".ipt-lint.toml", content)
    write(in_tmp / "c.rules", CLEAN)
    proc = run_cli("c.rules", cwd=in_tmp)
    assert proc.returncode == 2
    err = proc.stderr.decode()
    assert len(err.strip().splitlines()) == 1, err
    assert f"`{key}'" in err and str(cfg) in err
    assert "Traceback" not in err


def test_unknown_key_in_pyproject_names_the_table(in_tmp):
    cfg = write(in_tmp / "pyproject.toml", "[tool.ipt-lint]\nfail_on = 'error'\n")
    write(in_tmp / "c.rules", CLEAN)
    proc = run_cli("c.rules", cwd=in_tmp)
    assert proc.returncode == 2
    err = proc.stderr.decode()
    assert "`tool.ipt-lint.fail_on'" in err and "did you mean `fail-on'" in err and str(cfg) in err


def test_invalid_toml_names_the_file(in_tmp):
    cfg = write(in_tmp / "ipt-lint.toml", "select = [\n")
    write(in_tmp / "c.rules", CLEAN)
    proc = run_cli("c.rules", cwd=in_tmp)
    assert proc.returncode == 2 and str(cfg) in proc.stderr.decode() and "invalid TOML" in proc.stderr.decode()


def test_missing_explicit_config(in_tmp):
    write(in_tmp / "c.rules", CLEAN)
    proc = run_cli("--config", "nope.toml", "c.rules", cwd=in_tmp)
    assert proc.returncode == 2 and "nope.toml: no such configuration file" in proc.stderr.decode()


def test_load_config_error_type(tmp_path):
    with pytest.raises(ConfigError, match="statistics"):
        load_config(str(write(tmp_path / "ipt-lint.toml", 'statistics = "yes"\n')))
