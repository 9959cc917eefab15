"""What keyarch scores models with beyond accuracy: corpus BLEU (``bleu``), what a caption
says about its scene (``scenes``), and the floors and ceilings of captioning scores
(``caption_baselines``, ``captions``)."""
