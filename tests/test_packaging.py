"The repository's own promises: README commands, notebooks/library sync, version in one place."
import configparser, filecmp, re, shutil, subprocess, sys
from pathlib import Path
import petvit
from conftest import ROOT, petvit as run_petvit

def _settings(): 
    c = configparser.ConfigParser(delimiters=['=']); c.read(ROOT/'settings.ini')
    return c['DEFAULT']

def _readme_commands():
    return re.findall(r'```sh\n(python3 -m venv[^\n]*)\n```', (ROOT/'README.md').read_text())

def test_readme_has_the_two_fresh_machine_commands():
    cmds = _readme_commands()
    assert len(cmds) == 2, cmds
    assert 'petvit' in cmds[0] and cmds[1].endswith('&& pytest')       # pytest runs nbdev_test too (test_notebooks.py)

def test_ci_runs_exactly_the_readme_test_command():
    ci = (ROOT/'.ci'/'run').read_text().splitlines()
    assert _readme_commands()[1] in ci

def test_readme_is_rendered_from_index_notebook():
    r = subprocess.run([sys.executable, ROOT/'tools'/'make_readme.py', '--check'], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr

def test_library_in_sync_with_notebooks(tmp_path):
    "nbdev_export of the committed notebooks reproduces the committed library exactly"
    for p in ('nbs', 'petvit'): shutil.copytree(ROOT/p, tmp_path/p)
    for p in ('settings.ini', 'setup.py', 'README.md'): shutil.copy(ROOT/p, tmp_path/p)
    r = subprocess.run([Path(sys.executable).parent/'nbdev_export'], cwd=tmp_path, capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    cmp = filecmp.dircmp(ROOT/'petvit', tmp_path/'petvit', ignore=['__pycache__'])
    assert not (cmp.diff_files or cmp.left_only or cmp.right_only), \
        f'run nbdev_export: library differs from notebooks in {cmp.diff_files + cmp.left_only + cmp.right_only}'

def test_version_in_one_place():
    version = _settings()['version']
    assert petvit.__version__ == version
    assert run_petvit('--version').stdout.strip() == f'petvit {version}'

def test_runtime_requirements_declared():
    reqs = {re.split(r'[<>=!~ ]', r)[0].lower() for r in _settings()['requirements'].split()}
    assert {'fastai', 'timm', 'torch', 'torchvision', 'wandb', 'pandas', 'matplotlib', 'scikit-learn', 'pillow', 'grad-cam'} <= reqs

def test_github_workflows_run_ci_and_deploy_the_docs():
    import yaml
    test = yaml.safe_load((ROOT/'.github'/'workflows'/'test.yaml').read_text())
    assert any(step.get('run', '').strip() == '.ci/run' for step in test['jobs']['test']['steps'])
    deploy = (ROOT/'.github'/'workflows'/'deploy.yaml').read_text()
    assert 'nbdev_docs' in deploy and f"publish_dir: ./{_settings()['doc_path']}" in deploy

def test_library_works_without_accelerate():
    "Accelerate is only needed for data-parallel training: without it petvit imports and trains, and asks for it in one line"
    code = '''
import sys
class Block:
    def find_spec(self, name, path=None, target=None):
        if name == 'accelerate' or name.startswith('accelerate.'): raise ImportError('no accelerate')
sys.meta_path.insert(0, Block())
import petvit.training, petvit.cv, petvit.cli, petvit.bench
from petvit.core import PetvitError
try:
    with petvit.training.data_parallel(): pass
except PetvitError as e: print('refused:', e)
'''
    r = subprocess.run([sys.executable, '-c', code], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr[-2000:]
    assert r.stdout.strip() == 'refused: data-parallel training needs Hugging Face Accelerate: pip install accelerate'

def test_requirements_state_the_lower_bounds_the_code_needs():
    "wandb.init(reinit='finish_previous') needs wandb 0.19.10; torch.amp.GradScaler(device) needs torch 2.3"
    from packaging.requirements import Requirement
    reqs = {r.name.lower(): r.specifier for r in map(Requirement, _settings()['requirements'].split())}
    for name, too_old, enough in [('wandb', '0.19.9', '0.19.10'), ('torch', '2.2.2', '2.3.0')]:
        assert too_old not in reqs[name] and enough in reqs[name], (name, str(reqs[name]))
