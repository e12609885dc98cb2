"""What a newcomer meets first: logs that read well off a terminal, files with the usual permissions, W&B in the run."""
import os, re, stat
import pytest
from conftest import petvit, TINY

QUICK = ['--folds', 2, '--epochs', 2, *TINY]

def test_logs_without_a_terminal_are_plain_lines_and_outputs_get_the_umask_mode(cli, small_data, tmp_path):
    """stdout/stderr captured (not a TTY): no carriage returns, no bars, every status line on a line of its own; every file
    the run and a prediction write has the mode the umask gives (one run serves both checks)"""
    run, old = tmp_path/'run', os.umask(0o022)
    try:
        r = petvit('train', '--data', small_data, '--out', run, *QUICK, env={'PETVIT_CACHE': str(tmp_path/'cache')})
        assert r.returncode == 0, r.stderr[-2000:]
        assert petvit('predict', '--run', run, '--data', small_data, '--out', tmp_path/'pred.csv').returncode == 0
    finally: os.umask(old)
    text = r.stdout + r.stderr
    assert '\r' not in text and '█' not in text and '\x1b' not in text
    lines = r.stdout.splitlines()
    assert lines[0].startswith('petvit train: shiftvit_nano at 32 px')
    for k in (0, 1):                                        # fold lines begin lines, epochs are one line each
        assert sum(l.startswith(f'fold {k}: training') for l in lines) == 1
        assert sum(l.startswith(f'fold {k}: RMSE') for l in lines) == 1
    assert sum(l.startswith('  epoch ') for l in lines) == 4
    assert all(re.match(r'(petvit train|fold \d|  epoch \d|\s+fold|\s+\d|\s+OOF|OOF RMSE)', l) for l in lines), lines
    bad = cli('train', '--data', small_data, '--out', tmp_path/'run2', *QUICK, '--lr', 'nan')
    assert bad.stdout == '' and bad.stderr.startswith('petvit train: error: config lr=') and bad.stderr.count('\n') == 1
    files = [p for p in run.rglob('*') if p.is_file()] + [tmp_path/'pred.csv']
    assert len(files) > 10
    modes = {str(p.relative_to(tmp_path)): oct(stat.S_IMODE(p.stat().st_mode)) for p in files}
    assert set(modes.values()) == {'0o644'}, modes

def test_wandb_offline_stays_in_the_run_folder(small_data, tmp_path):
    home, run = tmp_path/'home', tmp_path/'run'
    home.mkdir()
    r = petvit('train', '--data', small_data, '--out', run, '--folds', 2, '--epochs', 1, *TINY[:-2], '--wandb', 'offline',
               env={'HOME': str(home), 'WANDB_MODE': None, 'XDG_CACHE_HOME': None, 'XDG_CONFIG_HOME': None})
    assert r.returncode == 0, r.stderr[-2000:]
    assert len(list((run/'wandb').glob('offline-run-*'))) == 2            # one W&B run per fold
    assert not (home/'.cache'/'wandb').exists() and not (home/'.config'/'wandb').exists(), list(home.rglob('*'))
