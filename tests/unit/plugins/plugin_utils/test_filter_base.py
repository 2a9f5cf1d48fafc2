# -*- coding: utf-8 -*-
# Copyright (c) cloudnet.triage contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The filter base: input and options validated against the filter's own DOCUMENTATION."""

from __future__ import annotations

import pytest

from ansible.errors import AnsibleFilterError

from ansible_collections.cloudnet.triage.plugins.plugin_utils._filter import (
    FilterArgumentError,
    documented_filter,
    filter_arguments,
    filter_interface,
)

DOCUMENTATION = r"""
name: sample
short_description: A filter to test the base with
positional: _input, level, names
options:
  _input:
    description: Some facts.
    type: dict
    required: true
  level:
    description: A level.
    type: str
    default: low
    choices: [low, high]
  names:
    description: Names.
    type: list
    elements: str
    default: []
  count:
    description: A number.
    type: int
    default: 3
"""


def test_interface_from_the_documentation():
    interface = filter_interface(DOCUMENTATION)
    assert (interface.name, interface.input_type, interface.positional) == ("sample", "dict", ("level", "names"))
    assert interface.spec["level"] == {"type": "str", "default": "low", "choices": ["low", "high"]}
    assert filter_interface(DOCUMENTATION) is interface                # parsed once


def test_defaults_positions_and_conversions():
    assert filter_arguments(DOCUMENTATION, {}) == {"level": "low", "names": [], "count": 3}
    assert filter_arguments(DOCUMENTATION, {}, ("high", ["a"]), {"count": "5"}) == {"level": "high", "names": ["a"], "count": 5}
    assert filter_arguments(DOCUMENTATION, {}, (), {"level": None})["level"] == "low"       # null takes the default


@pytest.mark.parametrize("data, args, kwargs, message", [
    ([], (), {}, "facts: expected a dict, got \\[\\]"),
    ({}, ("high", [], 4), {}, "takes at most 2 positional argument.s. after the input .level, names., got 3"),
    ({}, ("high",), {"level": "low"}, "option level given twice"),
    ({}, (), {"colour": "red"}, "unknown option.s. colour; the options are count, level, names"),
    ({}, (), {"level": "medium"}, "value of level must be one of: low, high, got: medium"),
    ({}, (), {"count": "x"}, "argument 'count' is of type str"),
])
def test_bad_arguments_name_the_option_and_value(data, args, kwargs, message):
    with pytest.raises(FilterArgumentError, match=message):
        filter_arguments(DOCUMENTATION, data, args, kwargs, input_name="facts")


def test_documented_filter_validates_calls_and_names_itself():
    calls = []

    def sample(data, level, names, count):
        calls.append((data, level, names, count))
        if level == "high":
            raise ValueError("too high for %s" % sorted(data))
        return count

    run = documented_filter(DOCUMENTATION, sample, input_name="facts")
    assert run.__name__ == "sample" and run.__doc__ == "A filter to test the base with"
    assert run({"a": 1}, count=7) == 7 and calls == [({"a": 1}, "low", [], 7)]
    with pytest.raises(AnsibleFilterError, match=r"^cloudnet.triage.sample: too high for \['a'\]$"):
        run({"a": 1}, "high")
    with pytest.raises(AnsibleFilterError, match=r"^cloudnet.triage.sample: facts: expected a dict, got None$"):
        run(None)
    assert len(calls) == 2                                                # an invalid call never reaches the function


def test_documented_filter_lets_other_errors_through():
    def broken(data, **options):
        raise KeyError("bug")

    with pytest.raises(KeyError):
        documented_filter(DOCUMENTATION, broken)({})


def test_documentation_without_a_name_is_refused():
    with pytest.raises(ValueError, match="has no name"):
        documented_filter("options: {}", lambda data: data)


FRAGMENTED = r"""
name: fragmented
short_description: A filter whose input comes from a doc fragment
positional: _input
options:
  level:
    description: Its own option.
    type: int
    default: 3
  formats:
    description: Its own version of an option the report_files fragment defines too, which wins whole.
    type: list
    elements: str
    default: [text]
extends_documentation_fragment:
  - cloudnet.triage.fleet_input.vxlan
  - cloudnet.triage.report_files
  - cloudnet.triage.fleet_input
  - other.collection.fragment
"""


def test_doc_fragment_options_are_merged_as_ansible_doc_merges_them():
    import yaml

    from ansible_collections.cloudnet.triage.plugins.doc_fragments.report_files import ModuleDocFragment
    from ansible_collections.cloudnet.triage.plugins.plugin_utils._filter import _fragment_options

    interface = filter_interface(FRAGMENTED)
    assert interface.input_type == "dict"
    assert set(interface.spec) >= {"level", "report_dir", "formats"}
    # The filter's own option wins whole over the fragment's (its default, not the fragment's).
    fragment_formats = yaml.safe_load(ModuleDocFragment.DOCUMENTATION)["options"]["formats"]
    assert fragment_formats.get("default") != ["text"]
    assert interface.spec["formats"] == {"type": "list", "elements": "str", "default": ["text"]}
    # NAME.VAR reads the fragment's attribute VAR; of two fragments defining _input, the earlier one stays.
    options = _fragment_options(yaml.safe_load(FRAGMENTED))
    assert "cloudnet.triage.vxlan/1" in options["_input"]["description"]
    assert "cloudnet.triage.vxlan/1" not in _fragment_options(
        {"extends_documentation_fragment": "cloudnet.triage.fleet_input"})["_input"]["description"]
    # The comma-separated string form, as ansible-doc takes it.
    assert set(_fragment_options({"extends_documentation_fragment": "cloudnet.triage.report_files, cloudnet.triage.fleet_input"})) \
        >= {"_input", "report_dir", "formats"}
    with pytest.raises(FilterArgumentError, match=r"input: expected a dict, got \['a'\]"):
        filter_arguments(FRAGMENTED, ["a"])


def test_filter_module_names_each_filter_by_its_documentation():
    from ansible_collections.cloudnet.triage.plugins.plugin_utils._filter import filter_module

    first = documented_filter(DOCUMENTATION, lambda data, **options: options["level"])
    other = documented_filter(FRAGMENTED, lambda data, **options: options["level"])
    filters = filter_module(first, other)().filters()
    assert sorted(filters) == ["fragmented", "sample"]
    assert filters["sample"]({"a": 1}, "high") == "high"
    assert filters["fragmented"]({}, report_dir="reports") == 3
