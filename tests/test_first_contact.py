"""What a newcomer meets first: logs that read well off a terminal, files with the usual permissions, W&B in the run."""
import os, re, stat
from pathlib import Path
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

def _on_a_terminal(args, cwd, env):
    "Run `petvit ARGS` with a pseudo-terminal as stdout and stderr, as in a shell: (exit status, what it showed)"
    import pty, subprocess, sys
    from conftest import ROOT
    exe = Path(sys.executable).parent/'petvit'
    main, child = pty.openpty()
    p = subprocess.Popen([exe, *map(str, args)], stdout=child, stderr=child, stdin=subprocess.DEVNULL, cwd=cwd,
                         env={**os.environ, 'WANDB_MODE': 'disabled', **env})
    os.close(child)
    shown = b''
    while True:
        try: chunk = os.read(main, 1 << 16)
        except OSError: break                                  # the child closed the terminal
        if not chunk: break
        shown += chunk
    os.close(main)
    return p.wait(timeout=600), shown.decode('utf-8', 'replace')

def test_on_a_terminal_the_bars_end_their_lines_and_every_epoch_is_logged(small_data, tmp_path):
    """On a terminal petvit draws progress bars: each ends its line before the next message, and the bars leave the
    epoch log (history.csv) its rows — they once replaced its writer, and the run failed when merged"""
    rc, shown = _on_a_terminal(['train', '--data', small_data, '--out', tmp_path/'run', *QUICK], tmp_path, {})
    assert rc == 0, shown[-3000:]
    assert '█' in shown                                           # bars were drawn
    assert not re.search(r'\](fold \d|petvit train|resuming)', shown), shown[-3000:]   # none runs into a message
    for k in (0, 1):
        rows = (tmp_path/'run'/f'fold{k}'/'history.csv').read_text().splitlines()
        assert [r.split(',')[0] for r in rows] == ['epoch', '0', '1'], rows

def test_ctrl_c_at_any_moment_is_one_line_and_exit_status_130(small_data, tmp_path):
    "SIGINT while Python loads, while the data is checked, while a fold trains: `petvit train: interrupted`, 130"
    import signal, subprocess, sys, time
    exe, interrupted = Path(sys.executable).parent/'petvit', 0
    for i, delay in enumerate((0.15, 0.5, 2.0, 6.0)):
        p = subprocess.Popen([exe, 'train', '--data', small_data, '--out', tmp_path/f'run{i}', *map(str, QUICK)],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                             env={**os.environ, 'WANDB_MODE': 'disabled'},
                             preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))  # as a shell leaves it
        time.sleep(delay)
        p.send_signal(signal.SIGINT)
        out, err = p.communicate(timeout=120)
        if 'OOF RMSE' in out: continue         # finished before the signal (or while Python shut down)
        assert p.returncode == 130, (delay, p.returncode, err[-2000:])
        assert err.strip() in ('petvit: interrupted', 'petvit train: interrupted'), (delay, err[-2000:])
        interrupted += 1
    assert interrupted >= 3, interrupted

def test_checks_that_need_no_model_fail_before_pytorch_loads(small_data, tmp_path):
    "A missing data folder, a run that is not there, a missing weights file: one line, and PyTorch never imported"
    import subprocess, sys
    for argv, says in [(['train', '--data', tmp_path/'nowhere'], 'data folder not found'),
                       (['train', '--data', small_data, '--out', tmp_path/'r', '--pretrained', tmp_path/'w.pth'],
                        'weights file'),
                       (['predict', '--run', tmp_path/'never', '--data', small_data], 'is not a petvit run'),
                       (['merge', '--run', tmp_path/'never'], 'is not a petvit run'),
                       (['explain', '--run', tmp_path/'never'], 'is not a petvit run')]:
        code = (f'import sys; from petvit.cli import main; rc = main({[str(a) for a in argv]!r}); '
                "print(rc, 'torch' in sys.modules)")
        r = subprocess.run([sys.executable, '-c', code], capture_output=True, text=True, cwd=tmp_path)
        assert r.stdout.split() == ['2', 'False'], (argv, r.stdout, r.stderr[-2000:])
        assert says in r.stderr and r.stderr.count('\n') == 1, (argv, r.stderr)

@pytest.mark.parametrize('env, why', [({'HF_HUB_OFFLINE': '1'}, 'HF_HUB_OFFLINE is set'),
                                      ({'HF_HUB_OFFLINE': None, 'HF_ENDPOINT': 'https://hub.invalid'},
                                       'no connection to hub.invalid')])
def test_hub_weights_offline_fail_in_one_line_naming_the_ways_out(small_data, tmp_path, env, why):
    "petvit's defaults need the hub's weights: offline that is one line at once, no minute of retries"
    r = petvit('train', '--data', small_data, '--out', tmp_path/'run', env=env)
    assert r.returncode == 2 and r.stdout == '', r.stdout[-2000:]
    assert r.stderr.count('\n') == 1 and 'Retry' not in r.stderr, r.stderr[-2000:]
    assert why in r.stderr and '--pretrained PATH' in r.stderr and '--pretrained false' in r.stderr, r.stderr
    assert not (tmp_path/'run').exists()

def test_a_mistyped_flag_is_reported_by_its_command_with_the_closest_one(cli):
    r = cli('train', '--demo', '--epohcs', 3)
    assert r.returncode == 2
    assert r.stderr == ('petvit train: error: unrecognized arguments: --epohcs 3 (did you mean --epochs?) '
                        '(see petvit train --help)\n'), r.stderr

def test_train_help_is_grouped_and_shows_the_presets_defaults():
    out = petvit('train', '--help').stdout
    titles = ['the config:', 'data and folds:', 'model:', 'optimisation and schedule:', 'augmentation:',
              'training levers:', 'output and logging:', 'hardware:']
    assert [out.index(t) for t in titles] == sorted(out.index(t) for t in titles), out
    assert out.startswith('usage: petvit train (--demo | --data DIR)')
    demo = ' '.join(petvit('train', '--demo', '--help').stdout.split())
    assert '--epochs N most epochs per fold (early stopping may end sooner) (default 15 with preset demo; 5 without)' in demo

def test_the_older_bare_spelling_is_still_accepted(cli, demo_dir, tmp_path):
    new, old = cli('check', '--data', demo_dir), cli('check', demo_dir)
    assert new.returncode == old.returncode == 0 and new.stdout == old.stdout
    r = cli('check', demo_dir, '--data', demo_dir)
    assert r.returncode == 2 and '--data given twice' in r.stderr
    r = cli('merge')
    assert r.returncode == 2 and 'the following arguments are required: --run' in r.stderr

def test_predict_a_photo_or_a_folder_of_photos(cli, tiny_runs, small_data, tmp_path):
    "No competition layout needed: a line per photo, the same figure as the run's own prediction of that test image"
    import pandas as pd
    photo = sorted((small_data/'test').iterdir())[0]
    r = cli('predict', '--run', tiny_runs/'a', '--data', photo)
    assert r.returncode == 0, r.stderr
    pred, name = r.stdout.splitlines()[-1].split()
    assert name == photo.stem
    sub = pd.read_csv(tiny_runs/'a'/'submission.csv').set_index('Id').Pawpularity
    assert abs(float(pred) - sub[photo.stem]) < 0.01, (pred, sub[photo.stem])
    shelf = tmp_path/'photos'; shelf.mkdir()
    for p in sorted((small_data/'test').iterdir())[:3]: (shelf/f'pet {p.name}').write_bytes(p.read_bytes())
    r = cli('predict', '--run', tiny_runs/'a', '--data', shelf, '--out', tmp_path/'photos.csv')
    assert r.returncode == 0 and (tmp_path/'photos.csv').read_text().count('\n') == 4, r.stderr

def test_lr_find_prints_a_suggestion_and_saves_its_plot_beside_the_run(cli, small_data, tmp_path):
    run = tmp_path/'run'
    args = ('train', '--data', small_data, '--out', run, *QUICK, '--lr-find')
    r = cli(*args)
    assert r.returncode == 0, r.stderr[-2000:]
    assert re.search(r'suggested lr \d\.\de-\d\d', r.stdout) and (tmp_path/'run-lr_find.png').is_file(), r.stdout
    assert not run.exists()                                         # the run folder: untouched
    assert cli(*args).returncode == 0                               # its own plot: replaced
    (tmp_path/'run-lr_find.png').write_bytes(b'mine')
    r = cli(*args)
    assert r.returncode == 2 and 'petvit did not write it' in r.stderr and (tmp_path/'run-lr_find.png').read_bytes() == b'mine'
