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
import re


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


# ------------ MME: LLaVA's convert_answer_to_mme.py, MME's calculation.py
MME_TYPES = {
    'Perception': ['existence', 'count', 'position', 'color', 'posters',
                   'celebrity', 'scene', 'landmark', 'artwork', 'OCR'],
    'Cognition': ['commonsense_reasoning', 'numerical_calculation',
                  'text_translation', 'code_reasoning'],
}


def mme_get_gt(data_path):
    GT = {}
    for category in os.listdir(data_path):
        category_dir = os.path.join(data_path, category)
        if not os.path.isdir(category_dir):
            continue
        if os.path.exists(os.path.join(category_dir, 'images')):
            qa_path = os.path.join(category_dir, 'questions_answers_YN')
        else:
            qa_path = category_dir
        for file in os.listdir(qa_path):
            if not file.endswith('.txt'):
                continue
            for line in open(os.path.join(qa_path, file)):
                question, answer = line.strip().split('\t')
                GT[(category, file, question)] = answer
    return GT


def mme_convert(answers, release_dir, result_dir):
    """convert_answer_to_mme.py: one <subtask>.txt per subtask."""
    GT = mme_get_gt(release_dir)
    os.makedirs(result_dir, exist_ok=True)
    results = {}
    for answer in answers:
        category = answer['question_id'].split('/')[0]
        file = answer['question_id'].split('/')[-1].split('.')[0] + '.txt'
        results.setdefault(category, []).append(
            (file, answer['prompt'], answer['text']))
    suffix = 'Answer the question using a single word or phrase.'
    for category, cate_tups in results.items():
        with open(os.path.join(result_dir, f'{category}.txt'), 'w') as fp:
            for file, prompt, answer in cate_tups:
                if suffix in prompt:
                    prompt = prompt.replace(suffix, '').strip()
                if 'Please answer yes or no.' not in prompt:
                    prompt = prompt + ' Please answer yes or no.'
                    if (category, file, prompt) not in GT:
                        prompt = prompt.replace(' Please answer yes or no.',
                                                '  Please answer yes or no.')
                gt_ans = GT[category, file, prompt]
                fp.write('\t'.join((file, prompt, gt_ans, answer)) + '\n')


def mme_parse(pred_ans):
    if pred_ans in ['yes', 'no']:
        return pred_ans
    prefix_pred_ans = pred_ans[:4]
    if 'yes' in prefix_pred_ans:
        return 'yes'
    if 'no' in prefix_pred_ans:
        return 'no'
    return 'other'


def mme_calculate(results_dir):
    """calculation.py's process_result for the subtasks present (the
    script needs all 14 files); returns subtask scores and the sums."""
    out = {}
    for eval_type, task_name_list in MME_TYPES.items():
        scores = 0
        for task_name in task_name_list:
            task_txt = os.path.join(results_dir, task_name + '.txt')
            if not os.path.exists(task_txt):
                continue
            lines = open(task_txt).readlines()
            chunk_lines = [lines[i:i + 2] for i in range(0, len(lines), 2)]
            img_num = len(chunk_lines)
            acc_plus_correct_num = 0
            gts, preds = [], []
            for img_items in chunk_lines:
                assert len(img_items) == 2
                img_correct_num = 0
                for img_item in img_items:
                    img_name, question, gt_ans, pred_ans = img_item.split(
                        '\t')
                    gt_ans = gt_ans.lower()
                    pred_ans = mme_parse(pred_ans.lower())
                    gts.append(gt_ans)
                    preds.append(pred_ans)
                    if gt_ans == pred_ans:
                        img_correct_num += 1
                if img_correct_num == 2:
                    acc_plus_correct_num += 1
            # sklearn's accuracy_score of the label-mapped lists.
            acc = sum(g == p for g, p in zip(gts, preds)) / len(gts)
            acc_plus = acc_plus_correct_num / img_num
            out[task_name] = acc * 100 + acc_plus * 100
            scores += out[task_name]
        out[eval_type] = scores
    return out


# -------------------------------------- llava/eval/eval_science_qa.py
SQA_OPTIONS = ['A', 'B', 'C', 'D', 'E']


def sqa_get_pred_idx(prediction, choices, options):
    if prediction in options[:len(choices)]:
        return options.index(prediction)
    return -1


def sqa_parse(pred_text, options=SQA_OPTIONS):
    if pred_text in options:
        return pred_text
    if len(pred_text) >= 3 and pred_text[0] in options and \
            pred_text[1:3] == '. ':
        return pred_text[0]
    res = re.compile(r'The answer is ([A-Z]).').findall(pred_text)
    return res[0] if len(res) == 1 else 'FAILED'


def sqa_eval(base_dir, predictions, split='test'):
    """The script's main: returns per-problem correctness and the two
    accuracies (percent)."""
    split_indices = json.load(open(os.path.join(
        base_dir, 'pid_splits.json')))[split]
    problems = json.load(open(os.path.join(base_dir, 'problems.json')))
    predictions = {pred['question_id']: pred for pred in predictions}
    split_problems = {idx: problems[idx] for idx in split_indices}
    correct, incorrect = [], []
    for prob_id, prob in split_problems.items():
        if prob_id not in predictions:
            pred = {'text': 'FAILED', 'prompt': 'Unknown'}
        else:
            pred = predictions[prob_id]
        answer = sqa_parse(pred['text'])
        pred_idx = sqa_get_pred_idx(answer, prob['choices'], SQA_OPTIONS)
        analysis = dict(question_id=prob_id,
                        is_multimodal='<image>' in pred['prompt'])
        (correct if pred_idx == prob['answer'] else incorrect).append(
            analysis)
    mm_correct = len([x for x in correct if x['is_multimodal']])
    mm_total = mm_correct + len([x for x in incorrect
                                 if x['is_multimodal']])
    return dict(acc=len(correct) / (len(correct) + len(incorrect)) * 100,
                img_acc=mm_correct / mm_total * 100,
                correct={x['question_id'] for x in correct})


# --------------- GQA: LLaVA's convert_gqa_for_eval.py, GQA's eval.py
def gqa_convert(answers):
    """convert_gqa_for_eval.py: the predictions file's content."""
    return [{'questionId': res['question_id'],
             'prediction': res['text'].rstrip('.').lower()}
            for res in answers]


def gqa_eval(questions_file, predictions):
    """eval.py (as LLaVA's gist leaves it): accuracy, binary, open."""
    questions = json.load(open(questions_file))
    predictions = {p['questionId']: p['prediction'] for p in predictions}
    for qid in questions:
        if qid not in predictions and questions[qid]['isBalanced']:
            raise Exception('missing predictions')
    scores = {'accuracy': [], 'binary': [], 'open': []}
    for qid, question in questions.items():
        correct = predictions[qid] == question['answer']
        score = float(1 if correct else 0)
        if question['isBalanced']:
            scores['accuracy'].append(score)
            answer_type = ('open' if question['types']['structural'] ==
                           'query' else 'binary')
            scores[answer_type].append(score)
    return {k: (sum(v) / len(v) if v else 0) * 100
            for k, v in scores.items()}


# ----------- llava/eval/eval_textvqa.py with m4c_evaluator.py's evaluator
class EvalAIProcessor:
    """m4c_evaluator.EvalAIAnswerProcessor. The word tables are taken from
    llava_mm (the official lists); the port is about the steps."""

    PERIOD_STRIP = re.compile(r'(?!<=\d)(\.)(?!\d)')
    COMMA_STRIP = re.compile(r'(?<=\d)(\,)+(?=\d)')

    def __init__(self):
        from llava_mm.evaluation.vqa_answers import (
            CONTRACTIONS,
            NUMBER_WORDS,
            PUNCTUATION,
        )
        self.contractions = dict(CONTRACTIONS)
        self.number_map = dict(NUMBER_WORDS)
        self.punctuations = list(PUNCTUATION)
        self.articles = ['a', 'an', 'the']

    def word_tokenize(self, word):
        word = word.lower()
        word = word.replace(',', '').replace('?', '').replace("'s", " 's")
        return word.strip()

    def process_punctuation(self, in_text):
        out_text = in_text
        for p in self.punctuations:
            if (p + ' ' in in_text or ' ' + p in in_text) or (
                    re.search(self.COMMA_STRIP, in_text) is not None):
                out_text = out_text.replace(p, '')
            else:
                out_text = out_text.replace(p, ' ')
        # re.UNICODE (32) lands in sub's count, as in the original.
        return self.PERIOD_STRIP.sub('', out_text, re.UNICODE)

    def process_digit_article(self, in_text):
        out_text = []
        for word in in_text.lower().split():
            word = self.number_map.setdefault(word, word)
            if word not in self.articles:
                out_text.append(word)
        for word_id, word in enumerate(out_text):
            if word in self.contractions:
                out_text[word_id] = self.contractions[word]
        return ' '.join(out_text)

    def __call__(self, item):
        item = self.word_tokenize(item)
        item = item.replace('\n', ' ').replace('\t', ' ').strip()
        item = self.process_punctuation(item)
        return self.process_digit_article(item)


def textvqa_answer_scores(processor, raw_answers):
    answers = [processor(a) for a in raw_answers]
    assert len(answers) == 10
    gt_answers = list(enumerate(answers))
    scores = {}
    for unique_answer in set(answers):
        accs = []
        for gt_answer in gt_answers:
            other_answers = [item for item in gt_answers
                             if item != gt_answer]
            matching = [item for item in other_answers
                        if item[1] == unique_answer]
            accs.append(min(1, float(len(matching)) / 3))
        scores[unique_answer] = sum(accs) / len(accs)
    return scores


def textvqa_prompt_question(prompt):
    if prompt.startswith('OCR tokens: '):
        match = re.search(r'Question: (.*?) Short answer:', prompt,
                          re.DOTALL)
        question = match.group(1)
    elif 'Reference OCR token: ' in prompt and len(prompt.split('\n')) == 3:
        if prompt.startswith('Reference OCR token:'):
            question = prompt.split('\n')[1]
        else:
            question = prompt.split('\n')[0]
    elif len(prompt.split('\n')) == 2:
        question = prompt.split('\n')[0]
    else:
        assert False
    return question.lower()


def textvqa_eval(annotation_file, results):
    """eval_single: per-question scores and the accuracy (percent)."""
    annotations = json.load(open(annotation_file))['data']
    annotations = {(a['image_id'], a['question'].lower()): a
                   for a in annotations}
    processor = EvalAIProcessor()
    scores = []
    for result in results:
        annotation = annotations[(result['question_id'],
                                  textvqa_prompt_question(result['prompt']))]
        pred = processor(result['text'])
        scores.append(textvqa_answer_scores(
            processor, annotation['answers']).get(pred, 0.0))
    return dict(scores=scores, accuracy=100. * sum(scores) / len(scores))


# ---------------------------- scripts/convert_seed_for_submission.py
def seed_eval(annotation_file, answers):
    """eval_single for all, image and video questions, and the upload
    lines; returns accuracies in percent."""
    data = json.load(open(annotation_file))
    names = {i: n for n, i in data['question_type'].items()}
    results = {row['question_id']: row for row in answers}

    def eval_single(eval_only_type=None):
        type_counts, correct_counts = {}, {}
        for question_data in data['questions']:
            if eval_only_type is not None and \
                    question_data['data_type'] != eval_only_type:
                continue
            data_type = question_data['question_type_id']
            type_counts[data_type] = type_counts.get(data_type, 0) + 1
            try:
                question_id = int(question_data['question_id'])
            except ValueError:
                question_id = question_data['question_id']
            if question_id not in results:
                correct_counts[data_type] = correct_counts.get(data_type, 0)
                continue
            row = results[question_id]
            if row['text'] == question_data['answer']:
                correct_counts[data_type] = correct_counts.get(
                    data_type, 0) + 1
            else:  # the script has no else: a type without a correct
                # answer ends in a KeyError there
                correct_counts.setdefault(data_type, 0)
        out = {}
        total_count = total_correct = 0
        for data_type in sorted(type_counts):
            out[names[data_type]] = (correct_counts[data_type] /
                                     type_counts[data_type] * 100)
            total_count += type_counts[data_type]
            total_correct += correct_counts[data_type]
        out['total'] = total_correct / total_count * 100
        return out

    scores = eval_single()
    scores['image'] = eval_single('image')['total']
    scores['video'] = eval_single('video')['total']
    upload = []
    for question in data['questions']:
        qid = question['question_id']
        result = results[qid] if qid in results else results[int(qid)]
        upload.append({'question_id': qid, 'prediction': result['text']})
    return scores, upload


# ------------------------------ scripts/convert_vizwiz_for_submission.py
def vizwiz_convert(annotation_file, answers):
    """The upload file's content (EvalAI-processed answers)."""
    processor = EvalAIProcessor()
    results = {x['question_id']: x['text'] for x in answers}
    test_split = _jsonl(annotation_file)
    all_answers = []
    for x in test_split:
        assert x['question_id'] in results
        all_answers.append({'image': x['image'],
                            'answer': processor(results[x['question_id']])})
    return all_answers


# ------------------- MMBench: llava/eval/model_vqa_mmbench.py's prompts
def _mmbench_is_none(value):
    import math
    if value is None:
        return True
    if type(value) is float and math.isnan(value):
        return True
    if type(value) is str and value.lower() in ('nan', 'none'):
        return True
    return False


def mmbench_prompts(tsv, all_rounds=False, single_pred_prompt=True):
    """The (question_id, round_id, prompt after '<image>\\n', options,
    option_char) the script generates for, in order (needs pandas)."""
    import pandas as pd
    all_options = ['A', 'B', 'C', 'D']
    out = []
    for _, row in pd.read_table(tsv).iterrows():
        options = []
        for option in all_options:
            if _mmbench_is_none(row[option]):
                break
            options.append(row[option])
        cur_option_char = all_options[:len(options)]
        for round_idx in range(len(options) if all_rounds else 1):
            question = row['question']
            hint = row['hint']
            if not _mmbench_is_none(hint):
                question = hint + '\n' + question
            for option_char, option in zip(all_options[:len(options)],
                                           options):
                question = question + '\n' + option_char + '. ' + option
            qs = question
            if single_pred_prompt:
                qs = qs + '\n' + ("Answer with the option's letter from "
                                  'the given choices directly.')
            out.append((row['index'], round_idx, qs, list(options),
                        list(cur_option_char)))
            options = options[1:] + options[:1]
            cur_option_char = cur_option_char[1:] + cur_option_char[:1]
    return out


def mmbench_submission(tsv, answers, xlsx):
    """scripts/convert_mmbench_for_submission.py (needs pandas and
    openpyxl)."""
    import pandas as pd
    df = pd.read_table(tsv)
    cur_df = df.copy()
    cur_df = cur_df.drop(columns=['hint', 'category', 'source', 'image',
                                  'comment', 'l2-category'])
    cur_df.insert(6, 'prediction', None)
    for pred in answers:
        cur_df.loc[df['index'] == pred['question_id'],
                   'prediction'] = pred['text']
    cur_df.to_excel(xlsx, index=False, engine='openpyxl')


# ---- VLMEvalKit's answer matching (matching_util.can_infer) and the
# ---- circular evaluation of its MMBench scoring, without a judge model
def vlmeval_can_infer_option(answer, choices):
    if 'Failed to obtain answer via API' in answer:
        return False
    reject_to_answer = [
        "Sorry, I can't help with images of people yet.",
        "I can't process this file.",
        "I'm sorry, but without the image provided",
        'Cannot determine the answer']
    for err in reject_to_answer:
        if err in answer:
            return 'Z'

    def count_choice(splits, choices, prefix='', suffix=''):
        cnt = 0
        for c in choices:
            if prefix + c + suffix in splits:
                cnt += 1
        return cnt

    answer_mod = answer
    for c in '.()[],:;!*#{}':
        answer_mod = answer_mod.replace(c, ' ')
    splits = [x.strip() for x in answer_mod.split()]
    count = count_choice(splits, choices)
    if count == 1:
        for ch in choices:
            if 'A' in splits and len(splits) > 3:
                return False
            if ch in splits:
                return ch
    elif count == 0 and count_choice(splits, {'Z', ''}) == 1:
        return 'Z'
    return False


def vlmeval_can_infer_text(answer, choices):
    answer = answer.lower()
    choices = {k: str(v).lower() for k, v in choices.items()}
    cands = [k for k in choices if choices[k] in answer]
    if len(cands) == 1:
        return cands[0]
    return False


def vlmeval_can_infer(answer, choices):
    answer = str(answer)
    copt = vlmeval_can_infer_option(answer, choices)
    return copt if copt else vlmeval_can_infer_text(answer, choices)


def mmbench_circular_eval(rows):
    """rows: (index, displayed choices dict, answer letter, reply). A
    question (index % 1e6) is right when all its rows are."""
    groups = {}
    for index, choices, answer, reply in rows:
        hit = vlmeval_can_infer(reply, choices) == answer
        groups.setdefault(index % int(1e6), []).append(hit)
    return 100 * sum(all(v) for v in groups.values()) / len(groups)
