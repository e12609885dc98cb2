"""The notebooks' shape: code shown within 100 characters, one definition per export cell (private
helpers included), imports in cells of their own (the docs build runs them), committed outputs free
of local paths, warnings and progress bars, and a run folder's file names spelled by one module"""
import ast, json, re, sys
from pathlib import Path

ROOT = Path(__file__).parent.parent
NBS = sorted((ROOT/'nbs').glob('[0-9]*.ipynb')) + [ROOT/'nbs'/'index.ipynb']

def _cells(kind='code'):
    for nb in NBS:
        for c in json.loads(nb.read_text())['cells']:
            if c['cell_type'] == kind: yield nb.name, c, ''.join(c['source'])

def _export_cells():
    for name, c, src in _cells():
        if src.startswith('#| export'): yield name, c, src

def _shown(src):
    "Whether the docs show a cell's code (not `#| hide` or `#| include: false`)"
    return not re.search(r'^#\|\s*(hide|include:\s*false)\b', src, re.M)

def _long_lines(cells):
    return [f"{name} cell {c['id']}: {len(l)} chars: {l.strip()[:60]}"
            for name, c, src in cells if _shown(src) for l in src.splitlines() if len(l) > 100]

def test_shown_code_fits_in_100_characters():
    long = _long_lines(_cells())
    assert not long, '\n'.join(long)

def _definitions(src):
    "Functions and classes a cell defines, private ones too, and its public lower-case variables"
    tree = ast.parse('\n'.join(l for l in src.splitlines() if not l.startswith('#|')))
    names = []
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)): names.append(node.name)
        elif isinstance(node, ast.Assign):                         # constants go with their user
            names += [t.id for t in node.targets if isinstance(t, ast.Name) and not t.id.isupper()
                      and not t.id.startswith('_')]              # a private variable: its user's
    return names

def test_one_definition_per_export_cell():
    crowded = [f"{name} cell {c['id']}: {', '.join(d)}" for name, c, src in _export_cells()
               if len(d := _definitions(src)) > 1]
    assert not crowded, 'split these cells (one definition, then its demo and test):\n' + '\n'.join(crowded)

_DOC_RUN = re.compile(r'^#\|\s*(export|exports|exporti|exec_doc)\b', re.M)

def _mixed_import_cells(cells):
    "Cells the docs build runs whole because they import (nbdev's rule), holding other code too"
    mixed = []
    for name, c, src in cells:
        if _DOC_RUN.search(src): continue
        lines = [l for l in src.splitlines() if not l.lstrip().startswith(('%', '!'))]
        tree = ast.parse('\n'.join(lines))
        imports = any(isinstance(n, (ast.Import, ast.ImportFrom)) for n in ast.walk(tree))
        if imports and any(not isinstance(n, (ast.Import, ast.ImportFrom)) for n in tree.body):
            mixed.append(f"{name} cell {c['id']}: {lines[0][:60] if lines else ''}")
    return mixed

def test_imports_stand_in_cells_of_their_own():
    "nbdev_docs executes every cell that imports: one that also chdirs or writes files would do so"
    mixed = _mixed_import_cells(_cells())
    assert not mixed, 'move these imports into an import cell:\n' + '\n'.join(mixed)

def test_the_checks_catch_what_they_look_for():
    assert _definitions('#| export\ndef a(): pass\nclass _B: pass\n_c = 1\nD = 2\ne = 3') == ['a', '_B', 'e']
    cell = lambda src: ('x.ipynb', {'id': 'c1'}, src)
    assert _long_lines([cell('#| hide\n' + 'x' * 101)]) == [] and _long_lines([cell('x' * 101)])
    assert _mixed_import_cells([cell('import os\nos.chdir("/")')])
    assert _mixed_import_cells([cell('for i in []:\n    import os')])
    assert not _mixed_import_cells([cell('import os\nfrom x import y')])
    assert not _mixed_import_cells([cell('#| export\nimport os\nX = 1')])

LOCAL = [r'/tmp/', r'/home/', r'/root/', r'/work/', r'/Users/', r'site-packages', r'[A-Za-z]+Warning\b',
         r'Overwriting \w+ in registry', '\r', '█', r'\d+(\.\d+)?it/s', r'\d+/\d+ \[\d\d:\d\d',
         r'<progress\b', r'class="fastprogress"',                 # fastprogress's HTML bars and tables
         r'<td>\d\d:\d\d</td>', r'\b(CPU times|Wall time):']     # timings that differ on every run

def _output_texts(c):
    for o in c.get('outputs', []):
        if o.get('output_type') == 'stream': yield ''.join(o['text'])
        for mime, v in o.get('data', {}).items():
            if mime.startswith('text/'): yield ''.join(v)
            if 'widget' in mime: yield f'{mime}: a widget (it shows nothing in the docs)'
        if o.get('output_type') == 'error': yield 'error: ' + o.get('ename', '')

def _leaks(cells):
    "(notebook, cell id, what) of every committed output holding a local path, a warning, a bar or noise"
    return [f"{name} cell {c['id']}: {m.group(0)!r}" for name, c, _ in cells for text in _output_texts(c)
            for pat in LOCAL + [r'^error: ', 'a widget'] if (m := re.search(pat, text, re.M))]

def test_committed_outputs_hold_no_local_paths_warnings_or_bars():
    found = _leaks(_cells())
    assert not found, '\n'.join(found)

def test_the_output_check_sees_bars_widgets_and_timings():
    "Outputs as fastprogress, ipywidgets, %time and a local path leave them: each one is caught"
    bar = {'output_type': 'display_data', 'data': {'text/html': ['<progress value="3" max="10"></progress>']}}
    table = {'output_type': 'display_data', 'data': {'text/html': ['<table class="fastprogress"><td>00:03</td>']}}
    widget = {'output_type': 'display_data', 'data': {'application/vnd.jupyter.widget-view+json': {'model_id': 'x'}}}
    timed = {'output_type': 'stream', 'name': 'stdout', 'text': ['CPU times: user 1 s\n']}
    path = {'output_type': 'execute_result', 'data': {'text/plain': ["PosixPath('/tmp/x')"]}}
    clean = {'output_type': 'stream', 'name': 'stdout', 'text': ['OOF RMSE 13.90\n']}
    cells = [('nb', {'id': str(i), 'outputs': [o]}, '') for i, o in enumerate([bar, table, widget, timed, path, clean])]
    assert [l.split(':')[0] for l in _leaks(cells)] == ['nb cell 0', 'nb cell 1', 'nb cell 1', 'nb cell 2', 'nb cell 3',
                                                       'nb cell 4']

RUN_FILES = r"""/\s*f?['"](config\.json|folds\.csv|oof\.csv|submission\.csv|cv\.json|fold\.json|model\.pth|history\.csv|test\.csv|oof\.png|learning_curves\.png|embeddings\.npz|data_folds\.csv)['"]|/\s*f['"](fold|features|regressor)\{"""

def _lines_matching(pattern:str)->dict:
    "{module: its lines matching `pattern`} of the library"
    found = {}
    for py in sorted((ROOT/'petvit').glob('*.py')):
        if py.name == '_modidx.py': continue
        if hits := [l.strip() for l in py.read_text().splitlines() if re.search(pattern, l)]: found[py.name] = hits
    return found

def test_run_folder_file_names_are_spelled_in_folders_only():
    "Only `petvit.folders` (its `RunFolder`) joins a run folder's file names to a path"
    spelled = {k: [l for l in v if 'test.csv' not in l] for k, v in _lines_matching(RUN_FILES).items()}
    assert {k for k, v in spelled.items() if v} == {'folders.py'}, spelled

MARKERS = r"""['"](config|boost|blend|embeddings|kit|explain)\.json['"]"""

def test_folder_kinds_and_the_ownership_rule_live_in_folders_only():
    "Which kind a folder is (its marker file) and who may write it are decided in `petvit.folders` alone"
    assert set(_lines_matching(MARKERS)) == {'folders.py'}, _lines_matching(MARKERS)
    rule = _lines_matching(r'holds no petvit|is not empty|iterdir\(\)\)')
    assert set(rule) == {'folders.py'}, rule

def test_no_module_imports_another_modules_private_names():
    "`from .x import _name` across modules would tie one module to another's insides"
    private = []
    for py in sorted((ROOT/'petvit').glob('*.py')):
        for node in ast.walk(ast.parse(py.read_text())):
            if isinstance(node, ast.ImportFrom) and node.level and node.module:
                private += [f'{py.name}: from .{node.module} import {a.name}' for a in node.names
                            if a.name.startswith('_')]
    assert not private, private

def test_library_lines_fit_in_100_characters_but_nbdevs_all():
    """What nbdev writes from the notebooks (module docstrings from the summaries) fits too; nbdev wraps
    `__all__` at its own fixed width of 120"""
    long = []
    for py in sorted((ROOT/'petvit').glob('*.py')):
        if py.name == '_modidx.py': continue
        in_all = False
        for i, l in enumerate(py.read_text().splitlines(), 1):
            in_all = l.startswith('__all__') or (in_all and l.startswith(' '))
            if len(l) > 100 and not in_all: long.append(f'{py.name}:{i}: {l[:60]}')
    assert not long, '\n'.join(long)

def test_modules_form_layers_without_cycles():
    "Each module imports only modules of lower layers (tools/layers.py prints the table)"
    sys.path.insert(0, str(ROOT/'tools'))
    import layers
    table = layers.layers()
    assert table['core'][0] == 0 and max(v[0] for v in table.values()) <= 7, table

def test_library_functions_are_short():
    "No function of the library over 40 lines but model constructors (`__init__` of the architectures)"
    long = [f'{py.name}: {n.name} ({n.end_lineno - n.lineno + 1} lines)'
            for py in sorted((ROOT/'petvit').glob('*.py')) if py.name != '_modidx.py'
            for n in ast.walk(ast.parse(py.read_text()))
            if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef)) and n.name != '__init__'
            and n.end_lineno - n.lineno + 1 > 40]
    assert not long, long
