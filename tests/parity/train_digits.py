#!/usr/bin/python3
"""Trains the main job's model: a small CNN on scikit-learn's bundled 8x8
digits (Debian python3-sklearn), exported to ONNX in fp32 with the calibration
and evaluation sets the main job uses.

    /usr/bin/python3 tests/parity/train_digits.py

Writes tests/data/digits/{digits_fp32.onnx, calib.npy, eval_x.npy,
eval_y.npy, torch_accuracy.txt}. Deterministic (fixed seeds, one thread).
"""

import os

import numpy as np
import torch
from sklearn.datasets import load_digits

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "data", "digits")


class DigitsNet(torch.nn.Module):
    """Conv+BN+ReLU blocks, a residual add, max pool, global pool, linear."""

    def __init__(self):
        super().__init__()
        self.quant = torch.quantization.QuantStub()
        self.conv1 = torch.nn.Conv2d(1, 16, 3, padding=1)
        self.bn1 = torch.nn.BatchNorm2d(16)
        self.relu1 = torch.nn.ReLU()
        self.conv2 = torch.nn.Conv2d(16, 16, 3, padding=1)
        self.bn2 = torch.nn.BatchNorm2d(16)
        self.relu2 = torch.nn.ReLU()
        self.add = torch.nn.quantized.FloatFunctional()
        self.pool = torch.nn.MaxPool2d(2)
        self.conv3 = torch.nn.Conv2d(16, 32, 3, padding=1)
        self.bn3 = torch.nn.BatchNorm2d(32)
        self.relu3 = torch.nn.ReLU()
        self.gap = torch.nn.AdaptiveAvgPool2d(1)
        self.fc = torch.nn.Linear(32, 10)
        self.dequant = torch.quantization.DeQuantStub()

    def forward(self, x):
        x = self.quant(x)
        a = self.relu1(self.bn1(self.conv1(x)))
        b = self.relu2(self.bn2(self.conv2(a)))
        x = self.pool(self.add.add(a, b))
        x = self.relu3(self.bn3(self.conv3(x)))
        x = self.gap(x).flatten(1)
        return self.dequant(self.fc(x))


def main():
    torch.manual_seed(0)
    torch.set_num_threads(1)
    digits = load_digits()
    x = (digits.images / 16.0).astype(np.float32)[:, None, :, :]
    y = digits.target.astype(np.int64)
    order = np.random.RandomState(0).permutation(len(x))
    x, y = x[order], y[order]
    train_x, train_y = x[:1400], y[:1400]
    eval_x, eval_y = x[1400:], y[1400:]

    model = DigitsNet()
    opt = torch.optim.Adam(model.parameters(), lr=3e-3)
    tx, ty = torch.from_numpy(train_x), torch.from_numpy(train_y)
    for epoch in range(30):
        model.train()
        perm = torch.randperm(len(tx))
        for i in range(0, len(tx), 64):
            idx = perm[i:i + 64]
            opt.zero_grad()
            loss = torch.nn.functional.cross_entropy(model(tx[idx]), ty[idx])
            loss.backward()
            opt.step()
    model.eval()
    with torch.no_grad():
        acc = (model(torch.from_numpy(eval_x)).argmax(1).numpy() == eval_y).mean()
    print("fp32 eval accuracy %.4f on %d digits" % (acc, len(eval_y)))

    os.makedirs(OUT, exist_ok=True)
    torch.onnx.export(model, torch.from_numpy(eval_x[:1]), os.path.join(OUT, "digits_fp32.onnx"),
                      opset_version=13, input_names=["image"], output_names=["logits"],
                      dynamic_axes={"image": {0: "batch"}, "logits": {0: "batch"}})
    # Calibration: 8 batches of 32 training images, as PyTorch's prepare() would see them.
    np.save(os.path.join(OUT, "calib.npy"), train_x[:256])
    np.save(os.path.join(OUT, "eval_x.npy"), eval_x)
    np.save(os.path.join(OUT, "eval_y.npy"), eval_y)
    np.save(os.path.join(OUT, "one_image.npy"), eval_x[:1])
    with open(os.path.join(OUT, "one_image_label.txt"), "w") as f:
        f.write("%d\n" % eval_y[0])
    with open(os.path.join(OUT, "torch_accuracy.txt"), "w") as f:
        f.write("fp32 %.6f\n" % acc)


if __name__ == "__main__":
    main()
