"""Render README.md from nbs/index.ipynb (what `nbdev_readme` does, without Quarto).

Markdown cells are copied; code cells become ```python blocks followed by their text output;
cells marked `#| hide` are left out. Links to notebooks become links to their docs pages, and images
under `images/` links to the repository's files, so both work on GitHub and PyPI.
`--check` exits 1 when README.md differs from the rendering.
"""
import configparser, json, re, sys
from pathlib import Path
from nbdev.doclinks import _nbpath2html   # nbdev's own rule, so that the links land on its pages

ROOT = Path(__file__).resolve().parents[1]

def _settings():
    c = configparser.ConfigParser(delimiters=['=']); c.read(ROOT/'settings.ini', encoding='utf-8')
    return c['DEFAULT']

def page_name(nb_stem):
    "The page nbdev makes of a notebook: `08_attention_rollout` -> `attention_rollout.html`"
    return _nbpath2html(Path(f'{nb_stem}.ipynb')).name

def _absolute_links(md):
    "`](08_x.ipynb)` -> the docs page (`x.html`); `](images/x.png)` -> the file in the repository"
    s = _settings()
    docs = s['doc_host'].rstrip('/') + s['doc_baseurl'].rstrip('/')
    raw = s['git_url'].replace('https://github.com/', 'https://raw.githubusercontent.com/') + f"/{s['branch']}/nbs/"
    md = re.sub(r'\]\(([\w-]+)\.ipynb(#[\w-]+)?\)', lambda m: f']({docs}/{page_name(m[1])}{m[2] or ""})', md)
    return re.sub(r'\]\((images/[^)\s]+)\)', lambda m: f']({raw}{m[1]})', md)

def _directives(src): return [l.strip() for l in src.splitlines() if l.startswith('#|')]

def _text_output(outputs):
    parts = []
    for o in outputs:
        if o.get('output_type') == 'stream' and o.get('name') == 'stdout': parts.append(''.join(o['text']))
        elif 'data' in o and 'text/plain' in o['data']: parts.append(''.join(o['data']['text/plain']))
    return '\n'.join(p.rstrip('\n') for p in parts)

def render(nb_path=ROOT/'nbs'/'index.ipynb'):
    "README text from the index notebook"
    nb = json.loads(Path(nb_path).read_text(encoding='utf-8'))
    blocks = ['<!-- Generated from nbs/index.ipynb by tools/make_readme.py: edit the notebook, not this file -->']
    for c in nb['cells']:
        src = ''.join(c['source'])
        if c['cell_type'] == 'markdown': blocks.append(_absolute_links(src.strip('\n'))); continue
        if any(d.replace(' ', '') in ('#|hide', '#|include:false') for d in _directives(src)): continue
        code = '\n'.join(l for l in src.splitlines() if not l.startswith('#|'))
        blocks.append(f'```python\n{code}\n```')
        out = _text_output(c.get('outputs', []))
        if out: blocks.append(f'```\n{out}\n```')
    return '\n\n'.join(blocks) + '\n'

if __name__ == '__main__':
    readme = ROOT/'README.md'
    if '--check' in sys.argv:
        if readme.read_text(encoding='utf-8') != render():
            sys.exit('README.md is out of date with nbs/index.ipynb: run `python tools/make_readme.py`')
        print('README.md matches nbs/index.ipynb')
    else:
        readme.write_text(render(), encoding='utf-8')
        print(f'wrote {readme}')
