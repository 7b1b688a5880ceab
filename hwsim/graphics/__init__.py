"""Neural graphics (NGPC, ISCA 2023): encodings, apps, GPU baseline, NGPC cluster model."""
