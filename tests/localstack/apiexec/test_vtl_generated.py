"""Templates compiled to generated Python source (vtlsource.generate) compute what airspeed
computes, and their source holds nothing a template chose but string constants.

A template is untrusted text: its names and strings must not become code. Every identifier of a
generated function is one vtlsource made up; the variables' scopes (#set in #foreach) are locals
that behave as airspeed's LocalNamespaces; what Python cannot compile (deep nesting) falls back
to the closures, and so does a namespace that is not a plain dict.
"""
from __future__ import annotations

import re
import types
from typing import Any

import airspeed
import pytest
from hypothesis import assume, given, settings, strategies as st

from streamlab.localstack.apiexec import vtl, vtlcompile, vtlsandbox, vtlsource
from streamlab.provision.paths import api_dir
from tests.localstack.apiexec.test_vtlcompile import _namespace, assert_same

# What a generated function may name: its own locals (a letter and a number), its parameter and
# globals, and the attributes it uses.
_GENERATED_NAME = re.compile(r"[tvnixokr]\d+")
_OWN_NAMES = {*vtlsource._GLOBALS, "_U", "_o", "template",
              "get", "append", "join", "__class__", "value_to_string", "__additional_methods__"}


def _parsed(text: str) -> airspeed.Template:
    parsed = airspeed.Template(text)
    parsed.ensure_compiled()
    return parsed


def _code_names(code: types.CodeType) -> set[str]:
    names = set(code.co_names) | set(code.co_varnames) | set(code.co_cellvars) | set(code.co_freevars)
    for const in code.co_consts:
        if isinstance(const, types.CodeType):
            names |= _code_names(const)
    return names


def assert_generated_and_same(text: str, make_namespace=_namespace) -> tuple[str, str]:
    """The template is generated (not left to the closures), names only what vtlsource made up,
    and renders as airspeed does."""
    parsed = _parsed(text)
    source, constants = vtlsource.generate(parsed.root_element.block)
    names = _code_names(compile(source, "<test>", "exec"))
    foreign = {n for n in names if not _GENERATED_NAME.fullmatch(n) and n not in _OWN_NAMES}
    assert not foreign, (foreign, source)
    assert all(re.fullmatch(r"k\d+", name) for name in constants)
    assert vtlsource._generated(parsed.root_element.block) is not None, text
    return assert_same(text, make_namespace)


# -- untrusted names and strings -------------------------------------------------------------------

@pytest.mark.parametrize("text", [
    # names Python would run, or that generated code uses itself
    "#set($__import__ = 1)[$__import__][$!__import__]#set($__builtins__ = 'b')[$__builtins__]",
    "#set($_U = 'u')$_U #set($_o = 'o')$_o #set($_A = 1)$_A $_R $_ops $_getattr $_str $template",
    "#set($t1 = 5)#set($v1 = 'x')#set($k0 = 'k')#set($o2 = [])$t1 $v1 $k0 $o2 $x3 $i4 $n5 $r6",
    "#set($format = 'f')$format $format_map #set($print = 1)$print $eval $exec $open $globals",
    "#set($template = 'x')$template #set($None = 1)$None #set($True = 2)$True #set($def = 3)$def",
    # names of characters no Python identifier has
    "#set($m.a-b = 1)$m.a-b ${m.a-b} $a-b ${a-b} #set($é = 'e')$é #set($m[\"a'b\"] = 2)$m",
    # strings that would close a Python literal, or a line
    "#set($x = 'a\"b\\c\\\\')$x #set($y = '\"\"\"')$y #set($w = \"'''\")$w #set($z = \"line\nbreak\r\ttab\")$z",
    "#set($q = \"x\\\"); import os; #\")$q #set($r = '\\n\\x00\x00\u2028\U0001F600')$r $s.replace(\"-\", '\"')",
    "${nothing|\"')\n#\"} $!{nothing} #set($m.k = \"\\'\")$m.k \\$x \\#set($a = 1)",
    "$m[\"__class__\"] $m['__init__'] $util['__class__'] #set($m['__class__'] = 1)$m $m.__class__",
    "#set($__class__ = {})#set($__class__.x = 1)$__class__",
    "$s.__class__.__mro__ $s.format('{0.__class__}') $l.__len__() $context.__class__ $input.__init__",
])
def test_names_and_strings_stay_data(text):
    assert_generated_and_same(text)


def test_a_set_into_a_name_nobody_has_fails_as_before():
    assert assert_generated_and_same("#set($__import__.x = 1)")[0] == "the template failed"


# -- the variables' scopes ---------------------------------------------------------------------------

@pytest.mark.parametrize("text", [
    "#foreach($i in [1, 2])#set($a = $i)#set($t = $i)#end$a $t",
    "#set($t = 0)#foreach($i in [1, 2])#set($t = $i)#set($a = $t)#end$a $t",
    "#foreach($i in [1, 2])[$!x]#set($x = $i)[$x]#end[$!x]",
    "#foreach($i in [1, 2])#foreach($j in [3, 4])[$!y]#set($y = \"$i$j\")#end[$!y]#set($y = $i)#end[$!y]",
    "#foreach($i in [1, 2])#set($y = $i)#foreach($j in [3, 4])#set($y = \"$y$j\")#end[$y]#end[$!y]",
    "#if($a == 3)#set($c = 1)#end#foreach($i in [1, 2])#set($c = $i)#end[$!c]",
    "#if($a == 4)#set($c = 1)#end#foreach($i in [1, 2])#set($c = $i)#end[$!c]",
    "#if($a == 3)#set($c = 1)#else#set($c = 2)#end#foreach($i in [5])#set($c = $i)#end$c",
    "#if($a == 3)#set($c = 1)#elseif($a)#set($d = 2)#else#set($c = 3)#end[$!c][$!d]",
    "#foreach($foreach in [7, 8])$foreach $velocityCount#end $!foreach",
    "#foreach($velocityCount in ['a', 'b'])$velocityCount $foreach.count#end",
    "#foreach($i in [1, 2])#set($velocityCount = 9)$velocityCount $foreach.index#end[$!velocityCount]",
    "#set($foreach = 'top')#foreach($i in [1])$foreach.first#end $foreach",
    "#set($a = 'outer')#foreach($a in [1, 2])$a#set($a = 'in')$a#end $a",
    # a #set inside a string runs when the string is computed, right operand first
    "#set($x = 'a')#set($y = $x + \"#set($x = 'b')\")$y $x #set($y = $v + \"#set($v = 'v1')\")$y",
    "#set($w = 'w0')#set($y = \"#set($w = 'w1')\" + $w)$y $w",
    "#set($y = \"#set($u = 'u1')\" + $u)$y",
    "#set($z = \"#foreach($i in [1, 2])#set($p = $i)$p#end\")$z [$!p] [$!i]",
    "#if(\"#set($q = 1)\" == '')#end$q #if($nothing.call(\"#set($u = 1)\"))#end[$!u]",
    "#set($n = $nothing)[$!n] #set($s = $nothing)[$!s] #foreach($i in [1])#set($m = $nothing)[$!m]#end[$m]",
    "#foreach($k in $m)$k=$m[$k] #set($n = $k)#end$n", "#foreach($k in $m)#set($m.w = 1)#end",
    "#foreach($i in [1..3])#foreach($j in [$i..1])$i$j,#end;#end",
])
def test_scopes_behave_as_airspeeds(text):
    assert_generated_and_same(text)


_NAMES = st.sampled_from(["a", "s", "x", "y", "i", "foreach", "velocityCount", "_p", "format", "z"])
_VALUES = st.sampled_from(["1", "'v'", "$a", "$x", "$!y", "$nothing", "[1, 2]", '"q$x"', "$foreach.count", "$i"])


def _scope_blocks() -> st.SearchStrategy[str]:
    leaf = st.one_of(
        st.builds(lambda n, v: f"#set(${n} = {v})", _NAMES, _VALUES),
        _NAMES.map(lambda n: f"[$!{n}]"), _NAMES.map(lambda n: f"[${n}]"),
        st.builds(lambda n, v: f'#set($t = "#set(${n} = {v})")', _NAMES, _VALUES),
    )
    return st.recursive(leaf, lambda inner: st.one_of(
        st.lists(inner, min_size=2, max_size=4).map("".join),
        st.builds(lambda c, a, b: f"#if({c}){a}#else{b}#end", _VALUES, inner, inner),
        st.builds(lambda c, a: f"#if({c}){a}#end", _VALUES, inner),
        st.builds(lambda n, src, body: f"#foreach(${n} in {src}){body}#end",
                  _NAMES, st.sampled_from(["[1, 2]", "$fixed", "[]", "$m"]), inner),
    ), max_leaves=10)


@settings(max_examples=300)
@given(_scope_blocks())
def test_generated_scopes_behave_as_airspeeds(text):
    try:
        _parsed(text)
    except airspeed.TemplateSyntaxError:
        assume(False)
    assert_generated_and_same(text)


# -- what is not generated ---------------------------------------------------------------------------

@pytest.mark.parametrize("text", [
    "#foreach($i in [1])" * 25 + "$i" + "#end" * 25,  # more loops in loops than Python nests
    "#if($a)" * 110 + "x" + "#end" * 110,  # more indentation than Python reads
    "#if($a == 0)0" + "".join(f"#elseif($a == {n}){n}" for n in range(1, 120)) + "#end",
])
def test_nesting_python_cannot_compile_is_left_to_the_closures(text):
    parsed = _parsed(text)
    assert vtlsource._generated(parsed.root_element.block) is None
    assert vtlcompile.compile_tree(parsed) is not None
    assert_same(text)


def test_moderate_nesting_is_generated():
    assert_generated_and_same("#foreach($i in [1, 2])" * 8 + "$i" + "#end" * 8)
    assert_generated_and_same("#if($a)" * 40 + "x" + "#end" * 40)


def test_a_namespace_that_is_not_a_dict_is_rendered_by_the_closures():
    text = "#set($x = $a + 1)$x $m.k #foreach($i in $l)$i#end"
    assert_same(text, lambda: types.MappingProxyType(_namespace()))


# -- the sandbox -------------------------------------------------------------------------------------

class _Late:
    def shown(self) -> str:
        return "shown"


def test_what_the_sandbox_allows_is_learnt_again_when_it_changes():
    template = vtl.compile_template("[$obj.shown()][$obj.later()]")
    obj = _Late()
    render = template.compiled
    assert render is not None
    assert render({"obj": obj}) == "[][]"  # not a template surface: nothing reachable
    try:
        vtlsandbox.template_surface(_Late)
        assert render({"obj": obj}) == "[shown][]"
        _Late.later = lambda self: "later"  # type: ignore[attr-defined]
        assert render({"obj": obj}) == "[shown][]"  # registered before it had it
        vtlsandbox.template_surface(_Late)
        assert render({"obj": obj}) == "[shown][later]"
    finally:
        vtlsandbox._SURFACES.pop(_Late, None)
        vtlsandbox.is_reachable_on.cache_clear()
        vtlsource._forget_ways()
    assert render({"obj": obj}) == "[][]"


@pytest.mark.parametrize("name", sorted(p.name for p in (api_dir() / "templates").glob("*.vtl")))
def test_the_deployed_templates_are_generated(name):
    text = (api_dir() / "templates" / name).read_text(encoding="utf-8")
    for key in ("k-1", "", "bad key!"):
        assert_generated_and_same(text, lambda: _namespace('{"Attributes": {"id": {"S": "k-1"}}}',
                                                           {"Idempotency-Key": key} if key else {}))


def _all_test_templates() -> list[Any]:
    """The templates test_vtlcompile and test_vtl_speed_units compare with airspeed."""
    from tests.localstack.apiexec import test_vtl_speed_units, test_vtlcompile
    texts = []
    for module in (test_vtlcompile, test_vtl_speed_units):
        for test in vars(module).values():
            for mark in getattr(test, "pytestmark", ()):
                if mark.name == "parametrize" and mark.args[0] == "text":
                    texts.extend(mark.args[1])
                elif mark.name == "parametrize" and mark.args[0] == "escape":
                    texts.extend(f"[{escape}]" for escape in mark.args[1])
    return texts


@pytest.mark.parametrize("text", _all_test_templates())
def test_the_closure_compilers_cases_are_generated_too(text):
    parsed = _parsed(text)
    if vtlcompile.compile_tree(parsed) is not None:
        assert vtlsource._generated(parsed.root_element.block) is not None


@pytest.mark.parametrize("text", [t for t in _all_test_templates() if vtlcompile.compile_tree(_parsed(t)) is not None])
def test_the_closures_still_render_them_as_airspeed(text):
    # What a namespace other than a dict, or a template nested too deep for Python, runs.
    assert_same(text, lambda: types.MappingProxyType(_namespace()))
