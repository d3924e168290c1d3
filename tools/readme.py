"""Render `nbs/index.ipynb` into `README.md` without Quarto.

nbdev's own README renderer (`nbdev-readme`) needs Quarto, which cannot be
installed everywhere. This renders the same home-page notebook to GitHub
markdown: markdown cells as they are, code cells as ```python blocks with
their saved text outputs below them. Cells marked `#| hide` or
`#| include: false` are left out; `#| echo: false` shows only the output.
Figures are left out (the README is text; the docs site shows them).

    python tools/readme.py          # write README.md
    python tools/readme.py --check  # exit 1 if README.md is out of date
"""
import re, sys
from pathlib import Path

from fastcore.nbio import read_nb

ROOT = Path(__file__).resolve().parent.parent
_DIRECTIVE = re.compile(r'^#\|\s*(.*?)\s*$')


def _directives(src):
    "The `#| ...` directives at the top of a cell, lower-cased, and the source without them."
    lines, dirs = src.splitlines(), []
    while lines and _DIRECTIVE.match(lines[0]):
        dirs.append(_DIRECTIVE.match(lines[0]).group(1).lower().replace(' ', ''))
        lines.pop(0)
    return dirs, '\n'.join(lines).strip('\n')


def _output_text(out):
    "Text of one saved output, or None for outputs a README cannot show."
    if out.get('output_type') == 'stream': return ''.join(out.get('text', ''))
    data = out.get('data', {})
    if 'text/markdown' in data: return None
    if 'text/plain' in data and not any(k.startswith('image/') for k in data):
        return ''.join(data['text/plain'])
    return None


def render_cell(cell):
    "Markdown for one notebook cell ('' when the cell is not shown)."
    if cell.cell_type == 'markdown': return cell.source.strip('\n')
    if cell.cell_type != 'code': return ''
    dirs, src = _directives(cell.source)
    if 'hide' in dirs or 'include:false' in dirs or any(d.startswith('default_exp') for d in dirs): return ''
    parts = [] if 'echo:false' in dirs or not src else [f'```python\n{src}\n```']
    texts = [t for t in map(_output_text, cell.get('outputs', [])) if t]
    if texts: parts.append('```\n' + ''.join(texts).rstrip('\n') + '\n```')
    return '\n\n'.join(parts)


def render(nb_path=ROOT / 'nbs' / 'index.ipynb'):
    "The README text rendered from the notebook at `nb_path`."
    blocks = [b for b in map(render_cell, read_nb(nb_path).cells) if b]
    text = '\n\n'.join(blocks) + '\n'
    note = '<!-- This file is generated from nbs/index.ipynb by tools/readme.py; edit the notebook. -->\n\n'
    return note + text


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    readme = ROOT / 'README.md'
    text = render()
    if '--check' in argv:
        if not readme.exists() or readme.read_text() != text:
            sys.exit('README.md is out of date: run `python tools/readme.py`')
        return
    readme.write_text(text)


if __name__ == '__main__': main()
