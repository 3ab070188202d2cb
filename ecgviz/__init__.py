"""ecgviz: PTB-XL data, XResNet1D inference, saliency and ECG-paper figures (no UI code)."""
