"""The metric/loop contract: every metric of llava_mm declares the hooks
that ResumableTestLoop calls (ResumableMetric), and the predictions-file
format is checked in one place."""
import ast
import inspect

import pytest
from mmengine.evaluator import BaseMetric

import llava_mm.engine.test_loop as test_loop
import llava_mm.evaluation as evaluation
from llava_mm.engine.test_loop import OUT_FORMATS, check_out_format
from llava_mm.evaluation import ResumableMetric, resumable_metrics
from llava_mm.registry import METRICS

HOOKS = ('set_work_dir', 'check_dataset', 'sample_log')


def _loop_metric_calls():
    """Methods the loop calls on a metric (``metric.<name>(...)``)."""
    tree = ast.parse(inspect.getsource(test_loop))
    return {node.func.attr for node in ast.walk(tree)
            if isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and isinstance(node.func.value, ast.Name)
            and node.func.value.id == 'metric'}


def test_the_loop_calls_only_declared_hooks_without_probing():
    source = inspect.getsource(test_loop)
    assert 'hasattr(metric' not in source
    assert _loop_metric_calls() == set(HOOKS)
    for hook in HOOKS:
        assert callable(getattr(ResumableMetric, hook))


def test_every_llava_mm_metric_is_resumable():
    names = [n for n in evaluation.__all__
             if inspect.isclass(getattr(evaluation, n))
             and issubclass(getattr(evaluation, n), BaseMetric)]
    assert len(names) >= 12
    for name in names:
        assert issubclass(getattr(evaluation, name), ResumableMetric), name
        if name != 'ResumableMetric':
            assert METRICS.get(name) is getattr(evaluation, name)


def test_hook_defaults_and_selection():
    class Plain(BaseMetric):
        def process(self, data_batch, data_samples):
            pass

        def compute_metrics(self, results):
            return {}

        def sample_log(self, sample):  # not part of a declared contract
            raise AssertionError('called')

    class Resumable(ResumableMetric):
        def process(self, data_batch, data_samples):
            pass

        def compute_metrics(self, results):
            return {}

    plain, resumable = Plain(), Resumable()
    assert resumable_metrics([plain, resumable]) == [resumable]
    assert resumable.sample_log({'pred_answer': 'x'}) == {}
    assert resumable.check_dataset(object()) is None
    assert resumable.set_work_dir('work') is None


@pytest.mark.parametrize('option', ['--out', 'out'])
def test_out_format_is_checked_in_one_place(option):
    for ext in OUT_FORMATS:
        check_out_format('preds' + ext, option)
    with pytest.raises(ValueError, match=rf'^{option} preds\.txt: use a '
                       r'file ending in one of'):
        check_out_format('preds.txt', option)
