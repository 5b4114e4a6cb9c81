# LLaVA-1.5 7B on VQAv2 test-dev: no answers here; writes the EvalAI
# submission file <work_dir>/vqa_submission.json, every test2015 question
# included (those outside test-dev with an empty answer).
_base_ = ['./llava-7b-v1.5_vqa.py']
test_dataloader = dict(
    dataset=dict(
        data_prefix='test2015',
        question_file='annotations/'
        'v2_OpenEnded_mscoco_test-dev2015_questions.json',
        ann_file=''))
test_evaluator = dict(
    _delete_=True,
    type='ReportVQA',
    test_question_file='data/coco/annotations/'
    'v2_OpenEnded_mscoco_test2015_questions.json')
