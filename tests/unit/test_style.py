from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.statistics.style import (
    StyleFeatures,
    conv_metadata,
    estimate_tokens,
    parse_conv_metadata,
    strip_code_blocks,
    style_features,
)

REPLY = """# Plan
Some **bold** words, __more__ and a ** lone pair.
## Steps
1. first
2. second
10. tenth
- apple
  * nested pear
+ plum
### Code
```python
# not a header
- not a list item
**not bold**
```
#hashtag is not a header
####### seven hashes is not one either
"""


def test_markdown_counts_follow_lmarena_definitions() -> None:
    style = style_features(REPLY, tokens=80)
    assert style.headers == (1, 1, 1, 0, 0, 0)
    assert (style.ordered, style.unordered) == (3, 3)
    assert (style.bold_asterisks, style.bold_underscores) == (1, 1)
    assert style.totals() == (80, 3, 6, 2)


def test_fenced_code_is_removed_before_counting_even_with_backticks_inside() -> None:
    text = "```sh\necho `date`\n# comment\n```\n# Real header\n~~~\n- hidden\n~~~\n- shown"
    assert "comment" not in strip_code_blocks(text)
    style = style_features(text)
    assert style.header_count == 1
    assert style.unordered == 1


def test_an_unclosed_fence_hides_the_rest_of_a_cut_off_reply() -> None:
    style = style_features("# Title\n```python\n# inside\n- inside")
    assert style.header_count == 1
    assert style.list_count == 0


def test_bold_spans_stay_on_one_line_and_contain_no_marker() -> None:
    assert style_features("**across\nlines**").bold_count == 0
    assert style_features("**a** and **b**").bold_asterisks == 2
    assert style_features("__x__y__").bold_underscores == 1


def test_the_models_token_count_is_used_and_estimated_only_when_missing() -> None:
    assert style_features("twelve chars", tokens=7).tokens == 7
    assert style_features("twelve chars").tokens == estimate_tokens("twelve chars") == 3
    assert style_features("x" * 9, tokens=0).tokens == 3
    assert style_features("").tokens == 0
    with pytest.raises(ValueError, match="negative"):
        style_features("text", tokens=-1)


def test_conv_metadata_has_the_lmsys_shape() -> None:
    metadata = conv_metadata(style_features(REPLY, tokens=80), StyleFeatures(tokens=5))
    assert metadata["sum_assistant_a_tokens"] == 80
    assert metadata["sum_assistant_b_tokens"] == 5
    assert metadata["header_count_a"] == {"h1": 1, "h2": 1, "h3": 1, "h4": 0, "h5": 0, "h6": 0}
    assert metadata["list_count_a"] == {"ordered": 3, "unordered": 3}
    assert metadata["bold_count_a"] == {"**": 1, "__": 1}
    assert metadata["bold_count_b"] == {"**": 0, "__": 0}
    assert set(metadata) == {
        "sum_assistant_a_tokens", "header_count_a", "list_count_a", "bold_count_a",
        "sum_assistant_b_tokens", "header_count_b", "list_count_b", "bold_count_b",
    }


def test_parsing_public_battle_metadata() -> None:
    public = {
        "sum_user_tokens": 12, "sum_assistant_a_tokens": 311, "sum_assistant_b_tokens": 95,
        "header_count_a": {"h1": 0, "h2": 2, "h3": 4, "h4": 0, "h5": 0, "h6": 0},
        "list_count_a": {"ordered": 5, "unordered": 7}, "bold_count_a": {"**": 9, "__": 0},
        "header_count_b": {"h1": 0, "h2": 0, "h3": 0, "h4": 0, "h5": 0, "h6": 0},
        "list_count_b": {"ordered": 0, "unordered": 0}, "bold_count_b": {"**": 0, "__": 0},
    }
    a, b = parse_conv_metadata(public)
    assert a.totals() == (311, 6, 12, 9)
    assert b.totals() == (95, 0, 0, 0)


def test_parsing_tolerates_missing_keys_and_rejects_nonsense() -> None:
    a, b = parse_conv_metadata({"sum_assistant_a_tokens": 4, "bold_count_b": 2})
    assert a == StyleFeatures(tokens=4)
    assert b.bold_count == 2
    with pytest.raises(ValueError, match="count"):
        parse_conv_metadata({"sum_assistant_a_tokens": -1})
    with pytest.raises(ValueError, match="count"):
        parse_conv_metadata({"list_count_a": {"ordered": "many"}})
    with pytest.raises(ValueError, match="unknown kinds"):
        parse_conv_metadata({"header_count_b": {"h7": 1}})


_counts = st.integers(0, 10_000)
_styles = st.builds(
    StyleFeatures, _counts, st.tuples(_counts, _counts, _counts, _counts, _counts, _counts), _counts, _counts,
    _counts, _counts,
)


@given(_styles, _styles)
def test_conv_metadata_round_trips(a: StyleFeatures, b: StyleFeatures) -> None:
    assert parse_conv_metadata(conv_metadata(a, b)) == (a, b)
