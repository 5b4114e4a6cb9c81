"""Reference ports of the official scoring scripts, for parity tests.

Each function follows the logic of the named public script step by step
(re-typed here, the printing left out, results returned), so a parity test
can score the same predictions with it and with llava_mm's metric. They read
the same inputs the scripts read: the answer records LLaVA's
``model_vqa_*.py`` write (``{"question_id", "prompt", "text"}``) and the
benchmarks' own files.
"""
import json
import os
import re  # noqa: F401 (used by later ports)


def _jsonl(path):
    with open(path) as f:
        return [json.loads(line) for line in f]


# ----------------------------------------------- llava/eval/eval_pope.py
def pope_parse(text):
    """The loop of eval_pope.eval_pope that turns an answer into yes/no."""
    if text.find('.') != -1:
        text = text.split('.')[0]
    text = text.replace(',', '')
    words = text.split(' ')
    if 'No' in words or 'not' in words or 'no' in words:
        return 'no'
    return 'yes'


def pope_eval_split(answers, label_file):
    """eval_pope.eval_pope: one split; returns its five numbers."""
    label_list = [json.loads(q)['label'] for q in open(label_file)]
    for answer in answers:
        answer['text'] = pope_parse(answer['text'])
    label_list = [0 if x == 'no' else 1 for x in label_list]
    pred_list = [0 if a['text'] == 'no' else 1 for a in answers]
    yes_ratio = pred_list.count(1) / len(pred_list)
    TP = TN = FP = FN = 0
    for pred, label in zip(pred_list, label_list):
        if pred == 1 and label == 1:
            TP += 1
        elif pred == 1 and label == 0:
            FP += 1
        elif pred == 0 and label == 0:
            TN += 1
        elif pred == 0 and label == 1:
            FN += 1
    precision = float(TP) / float(TP + FP)
    recall = float(TP) / float(TP + FN)
    f1 = 2 * precision * recall / (precision + recall)
    acc = (TP + TN) / (TP + TN + FP + FN)
    return dict(acc=acc, precision=precision, recall=recall, f1=f1,
                yes_ratio=yes_ratio)


def pope_eval(annotation_dir, question_file, answers):
    """eval_pope.py's main: every coco_pope_<split>.json of the folder."""
    questions = {q['question_id']: q for q in _jsonl(question_file)}
    out = {}
    for file in os.listdir(annotation_dir):
        assert file.startswith('coco_pope_') and file.endswith('.json')
        category = file[10:-5]
        cur = [dict(x) for x in answers
               if questions[x['question_id']]['category'] == category]
        out[category] = pope_eval_split(
            cur, os.path.join(annotation_dir, file))
    return out
