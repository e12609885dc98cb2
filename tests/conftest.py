"""Shared fixtures: the `petvit` command as a user runs it, and what many tests need built once per
session — demo datasets, two tiny runs with a boost and a blend — shared by pytest-xdist's workers
(the first worker to ask builds it under a lock, the others wait and reuse it)."""
import os, shutil, subprocess, sys
from pathlib import Path
import pytest
from filelock import FileLock

ROOT = Path(__file__).resolve().parents[1]
# the user's petvit cache, as it is before `private_cache` points PETVIT_CACHE at a temporary folder
USER_CACHE = Path(os.environ.get('PETVIT_CACHE') or '~/.cache/petvit').expanduser()
# pytest-xdist runs one worker per core: one torch thread each (and in the processes they start),
# else every worker's thread pool spins on every core
if os.environ.get('PYTEST_XDIST_WORKER'): os.environ.setdefault('OMP_NUM_THREADS', '1')

def petvit(*args, cwd=None, timeout=600, env=None):
    "Run the installed `petvit` console script (W&B disabled unless `env` says); return the CompletedProcess (text)"
    exe = shutil.which('petvit', path=os.path.dirname(sys.executable) + os.pathsep + os.environ.get('PATH', ''))
    assert exe, 'the petvit console script is not installed: pip install -e .'
    env = {k: v for k, v in {**os.environ, 'WANDB_MODE': 'disabled', **(env or {})}.items() if v is not None}  # None: unset
    return subprocess.run([exe, *map(str, args)], capture_output=True, text=True, cwd=cwd, timeout=timeout, env=env)

def main_here(*args):
    "`petvit ARGS` in this process (W&B disabled unless set), the environment as it was after: exit status, stdout, stderr"
    import contextlib, io
    from petvit.cli import main
    saved, out, err = dict(os.environ), io.StringIO(), io.StringIO()
    os.environ.setdefault('WANDB_MODE', 'disabled')
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            rc = main([str(a) for a in args])
    except SystemExit as e: rc = e.code                   # argparse's refusals
    finally: os.environ.clear(); os.environ.update(saved)  # seeding sets PYTHONHASHSEED: keep it from later tests
    return rc, out.getvalue(), err.getvalue()

@pytest.fixture(scope='session')
def session_dir(tmp_path_factory, worker_id):
    "A folder of this test session that every xdist worker sees"
    base = tmp_path_factory.getbasetemp()
    return base if worker_id == 'master' else base.parent

@pytest.fixture(scope='session')
def built_once(session_dir):
    "`built_once(name, build)`: `session_dir/name`, made by `build(path)` in the first worker that asks"
    def get(name, build):
        path = session_dir/name
        with FileLock(f'{path}.lock'):
            if not (session_dir/f'{name}.done').exists():
                shutil.rmtree(path, ignore_errors=True)       # a half of a build that failed
                build(path)
                (session_dir/f'{name}.done').touch()
        return path
    return get

@pytest.fixture(scope='session')
def demo_dir(built_once):
    "A 300-image demo dataset written by `petvit demo-data` in this process (shared, do not modify: copy it)"
    def build(d):
        rc, _, err = main_here('demo-data', d, '--n', 300)
        assert rc == 0, err
    return built_once('demo', build)

@pytest.fixture
def demo_copy(demo_dir, tmp_path):
    "A private copy of the demo dataset, free to break"
    d = tmp_path/'demo'
    shutil.copytree(demo_dir, d)
    return d

@pytest.fixture(scope='session')
def small_data(built_once):
    "A 60-image demo dataset for short training runs, by the `petvit demo-data` command (shared, do not modify)"
    def build(d):
        r = petvit('demo-data', d, '--n', 60)
        assert r.returncode == 0, r.stderr
    return built_once('small', build)

# Settings of a training run that takes seconds on a CPU
TINY = ['--arch', 'shiftvit_nano', '--pretrained', 'false', '--img-size', 32, '--bs', 8, '--tta', 2, '--wandb', 'disabled']

@pytest.fixture(autouse=True, scope='session')
def private_cache(session_dir):
    "Image caches and the demo dataset of the tests go to a temporary folder (one for all workers), not ~/.cache/petvit"
    old = os.environ.get('PETVIT_CACHE')
    os.environ['PETVIT_CACHE'] = str(session_dir/'petvit-cache')
    yield
    if old is None: os.environ.pop('PETVIT_CACHE')
    else: os.environ['PETVIT_CACHE'] = old

@pytest.fixture
def cli():
    "`petvit ARGS` in this process (no 4 s of imports per call): exit status, stdout, stderr"
    from types import SimpleNamespace
    return lambda *args: SimpleNamespace(**dict(zip(('returncode', 'stdout', 'stderr'), main_here(*args))))

@pytest.fixture(scope='session')
def tiny_runs(small_data, built_once):
    "Runs `a` (ShiftViT) and `b` (conv-stem ViT) on the same 2 folds of `small_data`, `a/boost`, and `blend` of a, a/boost, b (shared, do not modify: copy the folder)"
    def build(root):
        for name, arch in [('a', 'shiftvit_nano'), ('b', 'vit_convstem_nano')]:      # in this process
            # squished photos: the member weights the plan and blend tests count on were set by them
            rc, _, err = main_here('train', '--data', small_data, '--out', root/name, '--folds', 2, '--epochs', 1, *TINY,
                                '--arch', arch, '--resize', 'squish')
            assert rc == 0, err[-2000:]
        assert petvit('boost', '--run', root/'a').returncode == 0                    # processes of their own
        r = petvit('blend', root/'a', root/'a'/'boost', root/'b', '--out', root/'blend')
        assert r.returncode == 0, r.stderr[-2000:]
    return built_once('tiny-runs', build)

@pytest.fixture
def runs_copy(tiny_runs, tmp_path):
    "A private copy of `tiny_runs`, free to break"
    shutil.copytree(tiny_runs, tmp_path/'runs')
    return tmp_path/'runs'

# The longest tests (as measured with --durations), longest first: started first, so that
# pytest-xdist's workers finish together instead of one waiting on a long test begun last
LONGEST = ['test_readme.py::', 'test_timm_suite.py::', 'test_untrusted.py::test_an_interrupted',
           'test_notebooks.py::test_notebooks[07', 'test_notebooks.py::test_notebooks[06',
           'test_notebooks.py::test_notebooks[03', 'test_notebooks.py::test_notebooks[11', 'test_kaggle_kit.py::',
           'test_notebooks.py::test_notebooks[08', 'test_wheel.py::', 'test_fold_parallel.py::',
           'test_docs.py::test_every_page', 'test_train_cli.py::test_killed', 'test_distributed.py::']

def pytest_collection_modifyitems(items):
    rank = lambda item: next((i for i, p in enumerate(LONGEST) if p in item.nodeid), len(LONGEST))
    items.sort(key=rank)                                      # stable: the others keep their order
