"""The notebooks' own tests, run by `nbdev_test` as a contributor runs it (cells flagged `slow` or
`cuda` skipped), here so that pytest's workers share them out with the other tests. Each group of
notebooks runs in one `nbdev_test` process (one import of the stack per group)."""
import os, subprocess, sys
from pathlib import Path
import pytest
from conftest import ROOT

# grouped so that each takes about as long (measured with tools/time_cells.py); every notebook once
GROUPS = ['06_training', '07_cv 06b_submission 11b_zoo', '06a_predict 11_ensembles 00_core 00a_folders 02_augment 02a_store 04_losses_metrics 05_schedulers',
          '03_models 03a_arch 03b_shiftvit 03c_fnet 03d_convstem 10_benchmark 01_data 01a_folds 01b_images 01c_demo',
          '08_attention_rollout 09_cli 09a_api 13_kaggle_inference 12_kaggle_kit index 11a_plan']

def test_every_notebook_is_in_one_group():
    names = sorted(n for g in GROUPS for n in g.split())
    assert names == sorted(p.stem for p in (ROOT/'nbs').glob('*.ipynb')), names

@pytest.mark.parametrize('group', GROUPS, ids=[g.split()[0] for g in GROUPS])  # ids: first notebook
def test_notebooks(group, tmp_path):
    pattern = '^(' + '|'.join(group.split()) + r')\.ipynb$'
    exe = Path(sys.executable).parent/'nbdev_test'
    env = {**os.environ, 'WANDB_MODE': 'disabled', 'MPLBACKEND': 'Agg', 'HOME': os.environ.get('HOME', '')}
    r = subprocess.run([exe, '--n_workers', '0', '--file_re', pattern, '--do_print'], cwd=ROOT,
                       capture_output=True, text=True, env=env, timeout=900)
    assert r.returncode == 0 and 'Success.' in r.stdout, (r.stdout[-2000:], r.stderr[-4000:])
    ran = [l.split('Completed ')[1] for l in r.stdout.splitlines() if 'Completed ' in l]
    assert len(ran) == len(group.split()), r.stdout
