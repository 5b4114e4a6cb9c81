# LLaVA-1.5 7b on MMBench test (answers are secret): writes
# <work_dir>/mmbench_submission.xlsx for the MMBench server.
_base_ = ['./llava-7b-v1.5_mmbench.py']
test_dataloader = dict(
    dataset=dict(question_file='mmbench_test_20230712.tsv'))
