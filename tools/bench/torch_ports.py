"""The workloads' losses written as a PyTorch user would write them (torch.relu, torch.sigmoid, dim=/keepdim=).

They compute exactly what `workloads.*_loss` compute; scalar-poly needs no port, because its loss uses only
Python operators and runs as it is on 0-d tensors.
"""
from __future__ import annotations

import torch

from workloads import REG


def moons_loss(params, data):
    W1, b1, W2, b2, W3, b3 = params
    X, Y = data
    h1 = torch.relu(W1 @ X + b1)
    h2 = torch.relu(W2 @ h1 + b2)
    out = torch.relu(W3 @ h2 + b3)
    logsoftmax = out - torch.log(torch.sum(torch.exp(out), dim=0, keepdim=True))
    return torch.mean(-torch.sum(Y * logsoftmax, dim=0))


def spiral_loss(params, data):
    W1, b1, W2, b2 = params
    X, y = data
    hidden = torch.relu(X @ W1 + b1)
    scores = hidden @ W2 + b2
    exp_scores = torch.exp(scores)
    probs = exp_scores / torch.sum(exp_scores, dim=1, keepdim=True)
    n = X.shape[0]
    correct_logprobs = -torch.log(probs[torch.arange(n), y])
    data_loss = torch.sum(correct_logprobs) / n
    reg_loss = 0.5 * REG * torch.sum(W1 * W1) + 0.5 * REG * torch.sum(W2 * W2)
    return data_loss + reg_loss


def autoencoder_loss(params, X):
    We1, b1, We2, b2, Wd = params
    first = torch.sigmoid(We1 @ X + b1)
    encoded = torch.sigmoid(We2 @ first + b2)
    reconstructed = torch.sigmoid(Wd @ encoded)
    return torch.sum((X - reconstructed) ** 2)


TORCH_LOSSES = {"moons": moons_loss, "spiral": spiral_loss, "autoencoder": autoencoder_loss}
