"""Torch side of ClipSeek: backbone, method heads, losses, training, evaluation and export.

Needs the ``train`` extra (torch, open_clip). Nothing at run time imports this package.
"""
