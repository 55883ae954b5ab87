"""Method heads of the text–video stack: HCMI, VTC, DMAE, HBCI, VoP, their fusion and shared losses.

Every head works in the joint embedding space (width D) and scores all (text, video) pairs at once:
text-side tensors lead with Nt, video-side tensors with Nv, scores are [Nt, Nv]. The reranker graph is
the special case Nt = 1, so there is no Python loop over batch items anywhere.
"""
