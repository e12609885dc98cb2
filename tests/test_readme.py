"The README's Python quick start runs as written: its ```python blocks, in order, pasted into a fresh interpreter."
import os, re, subprocess, sys
from conftest import ROOT

def readme_python_blocks():
    return re.findall(r'```python\n(.*?)```', (ROOT/'README.md').read_text(encoding='utf-8'), re.S)

def test_readme_python_blocks_run_in_a_fresh_process(tmp_path):
    blocks = readme_python_blocks()
    assert len(blocks) >= 2 and any('run_cv' in b for b in blocks)
    script = tmp_path/'quickstart.py'
    script.write_text('\n'.join(blocks) + "\nprint('QUICKSTART OK', cv['oof_rmse'] < cv['baseline_rmse'])\n")
    r = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, cwd=tmp_path, timeout=600,
                       env={'PATH': '/usr/bin:/bin', 'HOME': str(tmp_path), 'PETVIT_CACHE': str(tmp_path/'cache'),
                            'WANDB_MODE': 'disabled', 'MPLBACKEND': 'Agg',
                            **{k: os.environ[k] for k in ('OMP_NUM_THREADS',) if k in os.environ}})
    assert r.returncode == 0, r.stderr[-3000:]
    assert 'QUICKSTART OK True' in r.stdout                    # the model beats predicting the mean, as the README says
